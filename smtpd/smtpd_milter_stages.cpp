// The session's side of smtpd_milters (smtpd_milter.hpp has the
// conversation): where each stage runs, what a refusal does to the
// command, the macros from the session's facts, the message's lines kept
// for the end of message, and what the end of message's verdict does: a
// refusal or discard ends the transaction, edits go to cleanup as records
// after the content (mail/record.hpp), all before cleanup commits.
#include "mail/milter_edit.hpp"
#include "mail/record.hpp"
#include "smtpd/smtpd_session.hpp"
#include "util/log.hpp"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/bufferevent_ssl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

namespace kurir::smtpd {

namespace m = mail::milter;

std::optional<std::string> Session::milter_macro(std::string_view name) const {
    const auto& cfg = policy_.milters;
    if (name == "j") return policy_.hostname;
    if (name == "{daemon_name}") return cfg.daemon_name;
    if (name == "v") return cfg.v;
    if (name == "_") return fmt::format("{} [{}]", peer_.name, peer_.addr);
    if (name == "{client_addr}") return peer_.addr;
    if (name == "{client_name}") return peer_.name;
    if (name == "{client_port}") return std::to_string(peer_.port);
    if (name == "{daemon_addr}" || name == "{daemon_port}") {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (getsockname(bufferevent_getfd(client_), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
        char host[NI_MAXHOST], port[NI_MAXSERV];
        if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, port, sizeof port,
                        NI_NUMERICHOST | NI_NUMERICSERV) != 0)
            return std::nullopt;
        return std::string(name == "{daemon_addr}" ? host : port);
    }
    if (name == "i") return queue_id_.empty() ? std::nullopt : std::optional<std::string>(queue_id_);
    if (name == "{auth_type}") return sasl_username_.empty() ? std::nullopt : std::optional(sasl_method_);
    if (name == "{auth_authen}") return sasl_username_.empty() ? std::nullopt : std::optional(sasl_username_);
    if (name == "{mail_addr}") return have_mail_ ? std::optional(sender_) : std::nullopt;
    if (name == "{mail_host}" || name == "{mail_mailer}" || name == "{rcpt_host}" || name == "{rcpt_mailer}")
        return std::nullopt;
    if (name == "{rcpt_addr}") return milter_rcpt_.empty() ? std::nullopt : std::optional(milter_rcpt_);
    if (name == "{tls_version}" || name == "{cipher}" || name == "{cipher_bits}") {
        if (!tls_established_) return std::nullopt;
        SSL* ssl = bufferevent_openssl_get_ssl(client_);
        if (!ssl) return std::nullopt;
        if (name == "{tls_version}") return std::string(SSL_get_version(ssl));
        if (name == "{cipher}") return std::string(SSL_get_cipher_name(ssl));
        return std::to_string(SSL_get_cipher_bits(ssl, nullptr));
    }
    return std::nullopt;
}

// The connect stage, before the greeting; true when greet waits for it.
bool Session::start_milters() {
    if (policy_.milters.milters.empty() || milters_) return false;
    milters_ = std::make_unique<SmtpdMilters>(
        ctx_.base, policy_.milters, [this](std::string_view name) { return milter_macro(name); },
        [this] { return dns_channel().value_or(nullptr); });
    state_ = State::checking;
    auto family = peer_.addr.find(':') != std::string::npos ? m::Family::inet6 : m::Family::inet;
    std::string host = peer_.name == "unknown" ? "[" + peer_.addr + "]" : peer_.name;
    milters_->connect(host, family, static_cast<uint16_t>(peer_.port), peer_.addr,
                      [this, alive = alive_](MilterOutcome o) {
                          if (!*alive) return;
                          state_ = State::command;
                          if (!o.reply.empty()) {
                              policy_log("milter-reject", "CONNECT", o.reply, {});
                              if (o.reply.starts_with("421")) {
                                  bufferevent_enable(client_, EV_WRITE);
                                  reply(o.reply);
                                  return close_after_reply();
                              }
                              connect_refusal_ = o.reply;  // the answer to every command
                          }
                          greet();
                      });
    return true;
}

void Session::with_milters(std::string_view command, std::string to, std::function<void(SmtpdMilters::Done)> ask,
                           std::function<void()> go, std::function<void()> refused) {
    if (!milters_) return go();
    State before = state_;
    state_ = State::checking;
    bufferevent_disable(client_, EV_READ);
    auto sync = std::make_shared<bool>(true);
    ask([this, alive = alive_, sync, before, command = std::string(command), to = std::move(to), go = std::move(go),
         refused = std::move(refused)](MilterOutcome o) {
        if (!*alive) return;
        state_ = before == State::checking ? State::command : before;
        if (!o.reply.empty()) {
            policy_log("milter-reject", command, o.reply, to);
            if (refused) refused();
            if (o.reply.starts_with("421")) {
                reply(o.reply);
                return close_after_reply();
            }
            error_reply(o.reply);
        } else {
            if (o.discard) {  // the client hears 250 to the end; cleanup drops the message
                policy_log("milter-discard", command, "milter triggers DISCARD action", to);
                discard_ = true;
            }
            go();
        }
        if (!*sync) resume_reading();
    });
    *sync = false;
}

void Session::milter_content(char type, std::string_view data) {
    // One text, not a string per line: an empty line costs one byte of
    // memory as it costs one of message_size_limit.
    milter_text_ += data;
    if (type != mail::rec::part) milter_text_ += '\n';
    milter_line_open_ = type == mail::rec::part;
}

// The end of message: true when the milters have it (commit_message or a
// refusal follows from their answer).
bool Session::end_of_data_milters() {
    if (!milters_) return false;
    state_ = State::checking;
    bufferevent_disable(client_, EV_READ);
    if (queue_id_.empty()) {  // the milters get {i}: cleanup's hello first
        milter_wait_hello_ = true;
        return true;
    }
    auto text = std::move(milter_text_);
    milter_text_.clear();
    if (milter_line_open_) text += '\n';  // a last line in pieces
    collect_lines_ = false;
    milters_->message(std::move(text), prepended_bytes_, [this, alive = alive_](MilterOutcome o) {
        if (!*alive) return;
        std::string id = queue_id_.empty() ? "NOQUEUE" : queue_id_;
        if (!cleanup_ && o.reply.empty()) {  // cleanup failed or refused while the milters worked
            o.reply = early_answer_.empty() ? "451 4.3.0 Error: queue file write error" : early_answer_;
            o.discard = false;
        }
        if (!o.reply.empty() || o.discard) {
            std::string text = o.discard ? (bdat_ ? fmt::format("250 2.0.0 Ok: {} bytes queued as {}", bdat_content_, id)
                                                  : fmt::format("250 2.0.0 Ok: queued as {}", id))
                                         : o.reply;
            if (o.discard)
                policy_log("milter-discard", "END-OF-MESSAGE", "milter triggers DISCARD action", {});
            else
                policy_log("milter-reject", "END-OF-MESSAGE", o.reply, {});
            abort_cleanup();
            reset_transaction();
            state_ = State::command;
            if (o.reply.starts_with("421")) {
                reply(text);
                return close_after_reply();
            }
            if (o.discard)
                reply(text);
            else
                error_reply(text);
            return resume_reading();
        }
        if (!o.quarantine.empty()) {
            policy_log("milter-hold", "END-OF-MESSAGE", "milter triggers HOLD action", {});
            send_record(mail::rec::milter_edit, mail::encode_milter_edit({'q', 0, o.quarantine, {}}));
        }
        send_milter_edits(o.edits);
        commit_message();
    });
    return true;
}

// Each edit an F record that cleanup applies where Postfix would
// (cleanup_milter_edits.hpp).
void Session::send_milter_edits(const std::vector<m::Reply>& edits) {
    for (const auto& e : edits)
        if (auto edit = mail::milter_edit_of(e)) send_record(mail::rec::milter_edit, mail::encode_milter_edit(*edit));
}

}  // namespace kurir::smtpd
