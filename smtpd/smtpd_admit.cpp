// The limits anvil counts across every smtpd process of the instance, as
// Postfix does. Before the greeting, smtpd_client_connection_count_limit
// and smtpd_client_connection_rate_limit: past either the client gets 421
// 4.7.0. Then the message, recipient, new TLS session and AUTH rates, per
// anvil_rate_time_unit. Clients in smtpd_client_event_limit_exceptions
// are not counted; when anvil cannot answer, the client is served (fail
// open, logged).
#include "smtpd/smtpd_session.hpp"

#include "util/log.hpp"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fmt/format.h>

namespace kurir::smtpd {

util::Result<std::vector<util::Cidr>> load_client_networks(const mail::Config& cfg, const std::string& param) {
    std::vector<util::Cidr> out;
    for (const auto& entry : cfg.list(param)) {
        auto c = util::parse_cidr(entry);
        if (!c)
            return util::fail(
                fmt::format("{}: \"{}\": only addresses and networks are supported", param, entry));
        out.push_back(*c);
    }
    return out;
}

std::string Session::service_name() const { return ctx_.service.empty() ? ctx_.program : ctx_.service; }

bool Session::limits_exempt() const {
    return peer_.addr == "unknown" || util::cidr_match_any(policy_.limit_exceptions, peer_.addr);
}

// A client on a Unix socket (address "unknown") is local, as Postfix takes
// it (127.0.0.1, which the default $mynetworks has): not refused.
bool Session::bare_newline_refused() const {
    return policy_.reject_bare_newline && peer_.addr != "unknown" &&
           !util::cidr_match_any(policy_.bare_newline_exclusions, peer_.addr);
}

// smtpd_forbid_bare_newline = reject: the reply, then the end of the
// session (a client that ends lines with a bare LF may be smuggling).
void Session::refuse_bare_newline(std::string_view command) {
    std::string text = fmt::format("{} 5.5.2 Error: bare <LF> received", policy_.bare_newline_reject_code);
    util::msg_info("{}: reject: {} from {}: {}", queue_id_.empty() ? "NOQUEUE" : queue_id_, command, client_id(), text);
    auth_abandon();
    reply(text);
    close_after_reply();
}

void Session::admit() {
    if ((policy_.connection_count_limit <= 0 && policy_.rates.connection <= 0) || limits_exempt()) return greet();
    anvil_counted_ = true;  // from here on anvil may count it, answered or not
    policy_.anvil->request(ctx_, mail::proto::AnvilRequest::Kind::connect, service_name(), peer_.addr,
                           [this, alive = alive_](std::optional<mail::proto::AnvilReply> r) {
        if (!*alive) return;  // the session ended before anvil answered
        if (!r) {
            anvil_counted_ = false;
            return greet();
        }
        if (policy_.connection_count_limit > 0 && r->count > policy_.connection_count_limit) {
            util::msg_warn("Connection concurrency limit exceeded: {} from {} for service {}", r->count, client_id(),
                           service_name());
            return close_now(
                fmt::format("421 4.7.0 {} Error: too many connections from {}", policy_.hostname, peer_.addr));
        }
        if (policy_.rates.connection > 0 && r->rate > policy_.rates.connection) {
            util::msg_warn("Connection rate limit exceeded: {} from {} for service {}", r->rate, client_id(),
                           service_name());
            return close_now(
                fmt::format("421 4.7.0 {} Error: too many connections from {}", policy_.hostname, peer_.addr));
        }
        greet();
    });
}

// The rate limits of a command (smtpd_client_message_rate_limit at MAIL,
// ..._recipient_ at RCPT, ..._new_tls_session_ at STARTTLS, ..._auth_ at
// AUTH): anvil counts it, and the command waits for the answer. True when
// the command is answered here or waits (again runs the command once more,
// which then passes this check); false: go on.
bool Session::rate_limited(mail::proto::AnvilRequest::Kind kind, std::function<void()> again) {
    using K = mail::proto::AnvilRequest::Kind;
    long limit = kind == K::message     ? policy_.rates.message
                 : kind == K::recipient ? policy_.rates.recipient
                 : kind == K::newtls    ? policy_.rates.newtls
                                        : policy_.rates.auth;
    if (limit <= 0 || limits_exempt() || rate_checked_ == command_serial_) return false;
    state_ = State::checking;
    bufferevent_disable(client_, EV_READ);
    policy_.anvil->request(ctx_, kind, service_name(), peer_.addr,
                           [this, alive = alive_, kind, limit, again = std::move(again)](
                               std::optional<mail::proto::AnvilReply> r) {
        if (!*alive) return;
        state_ = State::command;
        if (r && r->rate > limit) {
            const char* what = kind == K::message     ? "Message delivery request"
                               : kind == K::recipient ? "Recipient address"
                               : kind == K::newtls    ? "New TLS session"
                                                      : "AUTH command";
            util::msg_warn("{} rate limit exceeded: {} from {} for service {}", what, r->rate, client_id(),
                           service_name());
            error_reply(kind == K::message     ? fmt::format("450 4.7.1 Error: too much mail from {}", peer_.addr)
                        : kind == K::recipient ? fmt::format("450 4.7.1 Error: too many recipients from {}", peer_.addr)
                        : kind == K::newtls ? fmt::format("454 4.7.0 Error: too many new TLS sessions from {}", peer_.addr)
                                            : fmt::format("450 4.7.1 Error: too many AUTH commands from {}", peer_.addr));
        } else {
            rate_checked_ = command_serial_;  // anvil counted this command once
            again();
        }
        if (state_ == State::command) resume_reading();
    });
    return true;
}

}  // namespace kurir::smtpd
