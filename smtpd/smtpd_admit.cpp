// A new session before its greeting: smtpd_client_connection_count_limit,
// counted by anvil across every smtpd process of the instance, as Postfix
// does. The (N+1)th concurrent connection from one address gets 421 4.7.0;
// clients in smtpd_client_event_limit_exceptions are not counted; when
// anvil cannot answer, the client is served (fail open, logged).
#include "smtpd/smtpd_session.hpp"

#include "util/log.hpp"

#include <event2/bufferevent.h>
#include <fmt/format.h>

namespace kurir::smtpd {

util::Result<std::vector<util::Cidr>> load_limit_exceptions(const mail::Config& cfg) {
    std::vector<util::Cidr> out;
    for (const auto& entry : cfg.list("smtpd_client_event_limit_exceptions")) {
        auto c = util::parse_cidr(entry);
        if (!c)
            return util::fail(fmt::format(
                "smtpd_client_event_limit_exceptions: \"{}\": only addresses and networks are supported", entry));
        out.push_back(*c);
    }
    return out;
}

std::string Session::service_name() const { return ctx_.service.empty() ? ctx_.program : ctx_.service; }

void Session::admit() {
    if (policy_.connection_count_limit <= 0 || peer_.addr == "unknown" ||
        util::cidr_match_any(policy_.limit_exceptions, peer_.addr))
        return greet();
    anvil_counted_ = true;  // from here on anvil may count it, answered or not
    policy_.anvil->connect(ctx_, service_name(), peer_.addr, [this, alive = alive_](std::optional<long> count) {
        if (!*alive) return;  // the session ended before anvil answered
        if (!count) {
            anvil_counted_ = false;
            return greet();
        }
        if (*count <= policy_.connection_count_limit) return greet();
        util::msg_warn("Connection concurrency limit exceeded: {} from {} for service {}", *count, client_id(),
                       service_name());
        close_now(fmt::format("421 4.7.0 {} Error: too many connections from {}", policy_.hostname, peer_.addr));
    });
}

}  // namespace kurir::smtpd
