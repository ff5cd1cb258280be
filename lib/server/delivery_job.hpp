// What every delivery agent (local, virtual, pipe, error, discard) does
// first: read qmgr's delivery-request frame, and the message it names from
// active/ (mail/mail_proto.hpp, mail/queue_file.hpp).
#pragma once

#include "mail/delivery_log.hpp"
#include "mail/mail_proto.hpp"
#include "mail/queue_file.hpp"
#include "server/server.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kurir::server {

struct DeliveryJob {
    mail::proto::DeliveryRequest request;
    mail::QueueEnvelope envelope;
    std::string body;   // the message's lines, each ending "\n"
    double handed = 0;  // when the request arrived (delays=)

    // The queue file's recipient at offset, or nullptr.
    const mail::QueueRecipient* recipient(size_t offset) const;
    // The delays= of a recipient whose delivery began at connected.
    mail::DeliveryTimes times(double connected) const;
};

struct DeliveryRead {
    std::optional<DeliveryJob> job;  // nullopt: nothing to deliver
    bool usable = true;              // the connection may carry the next request
};

// A request that is not well formed is logged as "who: bad request" or
// "who: refused request", and no job returned with the connection unusable
// (the caller closes, qmgr defers). A queue file that cannot be read
// answers every recipient 4.3.0 with the reason, and no job is returned;
// the connection stays usable.
DeliveryRead read_delivery_job(const ServerContext& ctx, int client, std::string_view who);

// Sends the result of a request; false when it could not be written (the
// connection is then of no further use).
bool answer_delivery(int client, const mail::proto::DeliveryResult& result);

}  // namespace kurir::server
