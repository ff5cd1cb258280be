// NAME
//   lmtp - deliver mail to a local or nearby mail store over LMTP
// DESCRIPTION
//   The smtp(8) client speaking LMTP (RFC 2033), as Postfix's lmtp(8):
//   serves private/lmtp (master.cf "lmtp unix - - n - - lmtp"), one
//   delivery-request frame per qmgr connection answered by one
//   delivery-result frame. Nexthops, as transport_maps, mailbox_transport
//   and virtual_transport give them after "lmtp:":
//   unix:/path (a Unix-domain socket; a relative path such as
//   unix:private/dovecot-lmtp is under queue_directory), inet:host:port,
//   inet:[address]:port, or host:port (TCP, port 24 when none is given;
//   never an MX lookup). The conversation is LHLO (no HELO fallback), MAIL,
//   RCPT..., DATA and the message; after the message the server answers once
//   per accepted recipient, and each recipient is delivered, deferred or
//   bounced on its own reply. Logs each recipient as Postfix's lmtp does:
//   "to=<u@example.com>, relay=myhostname[private/dovecot-lmtp], ...,
//   dsn=2.0.0, status=sent (250 2.0.0 <u@example.com> ... Saved)".
//   Idle connections are kept for the next delivery to the same nexthop
//   for lmtp_connection_cache_time_limit.
// SECURITY
//   Runs as mail_owner, may be chrooted. Every reply is parsed strictly and
//   bounded in size, as smtp(8)'s. OpenSSL and lmtp_tls_CAfile are loaded
//   before privileges go, and only when lmtp_tls_security_level is not none.
// CONFIGURATION PARAMETERS
//   lmtp_connect_timeout (0s: no limit), lmtp_lhlo_timeout,
//   lmtp_mail_timeout, lmtp_rcpt_timeout, lmtp_data_init_timeout,
//   lmtp_data_xfer_timeout, lmtp_data_done_timeout, lmtp_rset_timeout,
//   lmtp_quit_timeout, lmtp_starttls_timeout, lmtp_lhlo_name,
//   lmtp_mx_address_limit (addresses of a TCP host name tried),
//   lmtp_destination_recipient_limit, lmtp_connection_cache_time_limit,
//   lmtp_tls_security_level (default none; never over a Unix socket),
//   lmtp_tls_CAfile, dns_resolver_address, inet_protocols
// SEE ALSO
//   smtp(8), local(8), virtual(8)
#include "daemons/daemons.hpp"
#include "server/server.hpp"
#include "smtp/smtp_agent.hpp"
#include "smtp/smtp_service.hpp"
#include "util/log.hpp"

#include <cstdlib>
#include <memory>

using namespace kurir;

int kurir::daemons::lmtp_main(int argc, char** argv) {
    std::unique_ptr<smtp::Agent> agent;
    std::unique_ptr<smtp::TlsPolicy> tls;
    server::Hooks hooks;
    // Before privileges go: OpenSSL (when lmtp_tls_security_level asks for
    // TLS) and the CA file.
    hooks.pre_drop = [&](server::ServerContext& ctx) {
        std::string error;
        tls = smtp::TlsPolicy::create(ctx.config, error, "lmtp");
        if (!tls) {
            util::msg_warn("lmtp: {}", error);
            std::exit(75);
        }
    };
    // Cached connections and the resolver live on the loop: gone before it is.
    hooks.before_exit = [&](server::ServerContext&) { agent.reset(); };
    return server::multi_server_main(
        argc, argv, "lmtp",
        [&](server::ServerContext& ctx, util::Fd client, server::ClientDone done) {
            if (!agent) {
                std::string error;
                agent = smtp::Agent::create(ctx, error, smtp::Protocol::lmtp, nullptr, std::move(tls));
                if (!agent) {
                    util::msg_warn("lmtp: {}", error);
                    std::exit(75);
                }
            }
            smtp::serve_qmgr(ctx, *agent, std::move(client), std::move(done));
        },
        hooks);
}
