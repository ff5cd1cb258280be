// local's hand-over of one recipient to another delivery agent, as
// Postfix's deliver_pass: mailbox_transport and fallback_transport
// (lmtp:unix:private/dovecot-lmtp). The agent behind private/TRANSPORT
// gets a delivery request for the same queue file (active/ID) with this
// recipient alone, at its queue-file offset, delivers and logs it itself;
// its answer is this recipient's result.
#pragma once

#include "mail/mail_proto.hpp"
#include "server/server.hpp"

#include <string>

namespace kurir::local {

// transport_spec: "transport:nexthop". Anything that goes wrong on the way
// (no such service, a malformed answer) is a temporary failure (4.3.0).
mail::proto::RecipientResult pass_to_transport(const server::ServerContext& ctx,
                                               const mail::proto::DeliveryRequest& request, size_t offset,
                                               const std::string& address, const std::string& transport_spec);

}  // namespace kurir::local
