// smtpd's side of anvil (smtpd_client_connection_count_limit and the
// smtpd_client_*_rate_limit parameters): one connection per smtpd process
// to private/anvil, requests answered in order. When anvil cannot be reached or does not answer, the session is
// served (fail open) and that is logged: a broken anvil must not stop mail.
#pragma once

#include "mail/mail_proto.hpp"
#include "server/attr_conn.hpp"
#include "server/server.hpp"

#include <deque>
#include <functional>
#include <optional>
#include <string>

namespace kurir::smtpd {

class AnvilClient {
public:
    // anvil's answer, or nullopt when anvil did not answer.
    using Answer = std::function<void(std::optional<mail::proto::AnvilReply>)>;
    // How long a request may wait for anvil, which answers from memory.
    static constexpr long kReplyTimeout = 10;

    ~AnvilClient();
    // Counts a connection, message, recipient, new TLS session or AUTH
    // command; answer runs later, or at once when anvil cannot be reached.
    void request(server::ServerContext& ctx, mail::proto::AnvilRequest::Kind kind, const std::string& service,
                 const std::string& addr, Answer answer);
    // Counts it off again (no answer is awaited).
    void disconnect(server::ServerContext& ctx, const std::string& service, const std::string& addr);

private:
    bool ensure(server::ServerContext& ctx);
    void send(const util::Attrs& frame, Answer answer);
    void lost(std::string_view why);

    server::AttrConn* conn_ = nullptr;
    std::deque<Answer> waiting_;  // one per request in flight, in order
};

}  // namespace kurir::smtpd
