// smtpd's AUTH command (RFC 4954), in Postfix's replies and log lines:
// offered in EHLO when smtpd_sasl_auth_enable is set and, with
// smtpd_tls_auth_only, only under TLS; mechanisms PLAIN and LOGIN; each
// failure counts as an error (smtpd_hard_error_limit, and the sleep past
// smtpd_soft_error_limit), which also bounds how many passwords one
// connection may try.
#include "mail/sasl.hpp"
#include "smtpd/smtpd_session.hpp"
#include "util/log.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace kurir::smtpd {

util::Result<void> load_sasl_policy(const mail::Config& cfg, SmtpdPolicy& p) {
    p.sasl_enable = cfg.boolean("smtpd_sasl_auth_enable");
    p.tls_auth_only = cfg.boolean("smtpd_tls_auth_only");
    for (const auto& opt : cfg.list("smtpd_sasl_security_options")) {
        // PLAIN and LOGIN are plaintext mechanisms, neither anonymous nor
        // open to active or dictionary attacks beyond guessing.
        if (opt == "noplaintext")
            return util::fail("smtpd_sasl_security_options: noplaintext leaves no mechanism (kurir offers PLAIN and LOGIN)");
        if (opt != "noanonymous" && opt != "noactive" && opt != "nodictionary" && opt != "mutual_auth" &&
            opt != "forward_secrecy")
            return util::fail("smtpd_sasl_security_options: unknown option \"" + opt + "\"");
        if (opt == "mutual_auth" || opt == "forward_secrecy")
            return util::fail("smtpd_sasl_security_options: " + opt + " leaves no mechanism (kurir offers PLAIN and LOGIN)");
    }
    if (!p.sasl_enable) return {};
    auto s = open_sasl_server(cfg);
    if (!s) return std::unexpected(s.error());
    p.sasl = std::move(*s);
    return {};
}

// The EHLO line, or "" when AUTH is not offered in this session.
std::string Session::auth_ehlo_line() const {
    if (!policy_.sasl_enable || !policy_.sasl || (policy_.tls_auth_only && !under_tls())) return "";
    std::string line = "250-AUTH";
    for (const auto& m : policy_.sasl->mechanisms()) line += " " + m;
    return line + "\r\n";
}

// Command lines are 512 octets (RFC 5321); an AUTH command or a response
// to a challenge may be 12288 (RFC 4954).
size_t Session::line_limit(std::string_view start) const {
    if (state_ == State::auth_response) return mail::kMaxAuthLine;
    if (!policy_.sasl_enable || start.size() < 5) return 512;
    auto upper = [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); };
    if (upper(start[0]) == 'A' && upper(start[1]) == 'U' && upper(start[2]) == 'T' && upper(start[3]) == 'H' &&
        start[4] == ' ')
        return mail::kMaxAuthLine;
    return 512;
}

// A response line too long to read ends the exchange.
void Session::auth_abandon() {
    if (state_ != State::auth_response) return;
    sasl_.reset();
    state_ = State::command;
}

void Session::do_auth(const mail::SmtpCommand& cmd) {
    if (!policy_.sasl_enable || !policy_.sasl) return error_reply("503 5.5.1 Error: authentication not enabled");
    if (helo_.empty()) return error_reply("503 5.5.1 Error: send HELO/EHLO first");
    if (policy_.tls_auth_only && !under_tls())
        return error_reply("538 5.7.11 Encryption required for requested authentication mechanism");
    if (!sasl_username_.empty()) return error_reply("503 5.5.1 Error: already authenticated");
    if (have_mail_) return error_reply("503 5.5.1 Error: MAIL transaction in progress");
    auto args = mail::parse_auth_args(cmd.arg);
    if (!args) return error_reply("501 5.5.4 Syntax: AUTH mechanism");
    auto offered = policy_.sasl->mechanisms();
    if (std::find(offered.begin(), offered.end(), args->mechanism) == offered.end())
        return error_reply("504 5.5.4 Unsupported authentication mechanism");
    if (rate_limited(mail::proto::AnvilRequest::Kind::auth, [this, cmd] { do_auth(cmd); })) return;
    std::optional<std::string> initial;
    if (args->initial) {
        auto r = mail::parse_sasl_response(*args->initial);
        if (std::holds_alternative<mail::SaslCancel>(r)) return error_reply("501 5.7.0 Authentication aborted");
        if (std::holds_alternative<mail::SaslBadBase64>(r)) return error_reply("501 5.5.2 Cannot decode response");
        initial = std::move(std::get<std::string>(r));
    }
    auth_mechanism_ = args->mechanism;
    sasl_ = policy_.sasl->start(auth_mechanism_, SaslClient{"", peer_.addr, under_tls()});
    auth_step(std::move(initial));
}

// A backend may answer at once, inside step (then process_input's loop
// goes on with pipelined input), or later from the event loop.
void Session::auth_step(std::optional<std::string> response) {
    state_ = State::auth_waiting;
    sasl_stepping_ = true;
    sasl_->step(std::move(response), [this](SaslOutcome o) { auth_outcome(std::move(o)); });
    sasl_stepping_ = false;
}

// A response line to our 334.
void Session::auth_line(std::string_view line) {
    auto r = mail::parse_sasl_response(line);
    if (!std::holds_alternative<std::string>(r)) {
        sasl_.reset();
        state_ = State::command;
        if (std::holds_alternative<mail::SaslCancel>(r)) return error_reply("501 5.7.0 Authentication aborted");
        return error_reply("501 5.5.2 Cannot decode response");
    }
    auth_step(std::move(std::get<std::string>(r)));
}

void Session::auth_outcome(SaslOutcome o) {
    using K = SaslOutcome::Kind;
    if (o.kind == K::challenge) {
        state_ = State::auth_response;
        reply("334 " + mail::base64_encode(o.data));
        if (!sasl_stepping_) resume_reading();
        return;
    }
    sasl_.reset();
    state_ = State::command;
    switch (o.kind) {
        case K::success:
            sasl_username_ = std::move(o.data);
            sasl_method_ = auth_mechanism_;
            ++auth_ok_;
            reply("235 2.7.0 Authentication successful");
            break;
        case K::failure:
            util::msg_warn("{}: SASL {} authentication failed: {}", client_id(), auth_mechanism_, o.data);
            error_reply("535 5.7.8 Error: authentication failed: " + o.data);
            break;
        case K::temporary:
            util::msg_warn("{}: SASL {} authentication aborted: {}", client_id(), auth_mechanism_, o.data);
            reply("454 4.7.0 Temporary authentication failure: " + o.data);
            break;
        case K::challenge: break;
    }
    if (!sasl_stepping_) resume_reading();
}

}  // namespace kurir::smtpd
