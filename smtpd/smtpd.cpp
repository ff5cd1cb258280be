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
// SECURITY
//   Runs as mail_owner. Everything the client sends is hostile: command
//   lines are limited to 512 octets, errors are counted and slowed, idle
//   sessions time out, and no reverse DNS blocks the loop. smtpd reads no
//   more from a client while 64 KB of replies wait unread, while cleanup
//   has the message, or while 64 KB of input wait unused; a session that
//   times out ends at once, whether or not the client takes its 421. A
//   session that lasts longer than smtpd_session_time_limit (kurir's own
//   parameter: smtpd_timeout bounds each read, not the whole) ends the same
//   way, however slowly the client dribbles bytes. Before the greeting,
//   anvil counts the client's connections across every smtpd process of
//   the instance: past smtpd_client_connection_count_limit the client gets
//   421 4.7.0 (clients in smtpd_client_event_limit_exceptions are not
//   counted); when anvil cannot answer, the client is served and that is
//   logged.
// CONFIGURATION PARAMETERS
//   smtpd_banner, message_size_limit, mynetworks, mydestination,
//   smtpd_recipient_limit, smtpd_timeout, smtpd_session_time_limit,
//   smtpd_soft_error_limit,
//   smtpd_hard_error_limit, smtpd_junk_command_limit, smtpd_error_sleep_time,
//   smtpd_forbid_bare_newline, smtpd_client_connection_count_limit,
//   smtpd_client_event_limit_exceptions,
//   local_recipient_maps, recipient_delimiter
#include "smtpd/smtpd_session.hpp"
#include "util/log.hpp"

#include <optional>

using namespace kurir;

int main(int argc, char** argv) {
    std::optional<smtpd::SmtpdPolicy> policy;
    server::Hooks hooks;
    hooks.pre_drop = [&](server::ServerContext& ctx) {
        auto p = smtpd::load_policy(ctx.config);
        if (!p) util::msg_fatal("{}", p.error().text);
        policy = std::move(*p);
    };
    return server::multi_server_main(
        argc, argv, "smtpd",
        [&](server::ServerContext& ctx, util::Fd fd, server::ClientDone done) {
            smtpd::Session::start(ctx, *policy, std::move(fd), std::move(done));
        },
        hooks, 200);
}
