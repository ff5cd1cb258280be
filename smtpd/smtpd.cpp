// NAME
//   smtpd - the SMTP server
// DESCRIPTION
//   Speaks ESMTP (RFC 5321) to network clients on the socket master passes:
//   EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, VRFY, HELP, with
//   PIPELINING, SIZE, 8BITMIME and ENHANCEDSTATUSCODES. Many sessions per
//   process on one event loop. Recipients outside $mydestination are
//   relayed only for clients in $mynetworks. Each message streams to cleanup
//   as it arrives; the client gets 250 only once the queue file is durable.
//   The end of data is CRLF "." CRLF and nothing else (no SMTP smuggling).
//   With smtpd_sasl_auth_enable, AUTH PLAIN and LOGIN (RFC 4954) against
//   Dovecot's auth server (smtpd_sasl_type = dovecot, smtpd_sasl_path) or
//   kurir's argon2id table (smtpd_sasl_type = kurir, made by kurir-passwd);
//   with smtpd_tls_auth_only (the default) only under TLS.
// SECURITY
//   Runs as mail_owner. Everything the client sends is hostile: command
//   lines are limited to 512 octets, errors are counted and slowed, idle
//   sessions time out, and no reverse DNS blocks the loop. Password hashes
//   are verified on one worker thread per process, never on the loop; the
//   password table is opened before privileges are dropped. smtpd reads no
//   more from a client while 64 KB of replies wait unread, while cleanup
//   has the message, or while 64 KB of input wait unused; a session that
//   times out ends at once, whether or not the client takes its 421.
// CONFIGURATION PARAMETERS
//   smtpd_banner, message_size_limit, mynetworks, mydestination,
//   smtpd_recipient_limit, smtpd_timeout, smtpd_soft_error_limit,
//   smtpd_hard_error_limit, smtpd_junk_command_limit, smtpd_error_sleep_time,
//   smtpd_forbid_bare_newline,
//   local_recipient_maps, recipient_delimiter,
//   smtpd_sasl_auth_enable, smtpd_tls_auth_only, smtpd_sasl_type,
//   smtpd_sasl_path, smtpd_sasl_service, smtpd_sasl_password_maps,
//   smtpd_sasl_security_options
#include "smtpd/smtpd_session.hpp"
#include "util/log.hpp"

#include <optional>
#include <utility>

using namespace kurir;

int main(int argc, char** argv) {
    std::optional<smtpd::SmtpdPolicy> policy;
    server::Hooks hooks;
    hooks.pre_drop = [&](server::ServerContext& ctx) {
        auto p = smtpd::load_policy(ctx.config);
        if (!p) util::msg_fatal("{}", p.error().text);
        policy = std::move(*p);
    };
    bool sasl_bound = false;  // the loop exists once the first client comes
    // The SASL backend has events on the loop: it goes before the loop does.
    hooks.before_exit = [&](server::ServerContext&) { policy->sasl.reset(); };
    return server::multi_server_main(
        argc, argv, "smtpd",
        [&](server::ServerContext& ctx, util::Fd fd, server::ClientDone done) {
            if (policy->sasl && !std::exchange(sasl_bound, true)) policy->sasl->bind(ctx.base, ctx.queue.root());
            smtpd::Session::start(ctx, *policy, std::move(fd), std::move(done));
        },
        hooks, 200);
}
