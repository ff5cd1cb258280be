// NAME
//   smtp - deliver mail to remote SMTP servers
// DESCRIPTION
//   Serves private/smtp: a connection from qmgr carries delivery-request
//   frames, one at a time, each answered with one delivery-result frame
//   (mail/mail_proto.hpp): a result per recipient, with the remote reply and
//   host where a server answered, and site=dead when no server of the
//   nexthop could be reached. A malformed request is logged and the
//   connection closed; qmgr then defers its recipients. Many
//   deliveries run at once on one event loop: MX and address lookups with
//   c-ares, the SMTP conversation (PIPELINING, SIZE, 8BITMIME, STARTTLS per
//   smtp_tls_security_level) and a cache of idle connections reused by the
//   next delivery to the same nexthop. A message whose sender asked for
//   SMTPUTF8 goes with it to a server that offers it; to one that does not,
//   without it if its envelope and headers are ASCII, else its recipients
//   bounce with 5.6.7, as Postfix. Reads the message from active/ID;
//   logs each recipient in Postfix's layout.
//   With srs_domain set, recipients that an alias, a .forward or address
//   rewriting forwarded to another domain get the sender's SRS address in
//   MAIL FROM (smtp/smtp_srs.hpp), in a transaction of their own.
// SECURITY
//   Runs as mail_owner, may be chrooted. Every reply from the network is
//   parsed strictly (mail/smtp_reply.hpp) and bounded in size. OpenSSL and
//   smtp_tls_CAfile are loaded before privileges go, and only when
//   smtp_tls_security_level is not none.
// CONFIGURATION PARAMETERS
//   smtp_*_timeout, smtp_helo_name, smtp_mx_address_limit,
//   smtp_destination_recipient_limit, smtp_connection_cache_time_limit,
//   smtp_tls_security_level, smtp_tls_CAfile, dns_resolver_address,
//   inet_protocols (the address families connected to), smtp_bind_address,
//   smtp_bind_address6 (the source address per family; else the one
//   non-loopback inet_interfaces address of the family, as Postfix),
//   smtp_sasl_auth_enable, smtp_sasl_password_maps,
//   smtp_sasl_security_options, smtp_sasl_tls_security_options,
//   smtp_sasl_tls_verified_security_options, smtp_sasl_mechanism_filter,
//   smtp_sender_dependent_authentication, smtp_sasl_auth_soft_bounce
//   (a SASL login to the server, smtp/smtp_sasl.hpp), smtp_fallback_relay
//   and fallback_relay (destinations tried when the nexthop's servers all
//   fail, smtp/smtp_fallback.hpp), srs_domain and srs_secrets
#include "daemons/daemons.hpp"
#include "server/server.hpp"
#include "smtp/smtp_agent.hpp"
#include "smtp/smtp_service.hpp"
#include "util/log.hpp"

#include <cstdlib>
#include <memory>

using namespace kurir;

int kurir::daemons::smtp_main(int argc, char** argv) {
    std::unique_ptr<smtp::Agent> agent;
    std::unique_ptr<smtp::SaslClient> sasl;
    std::unique_ptr<smtp::TlsPolicy> tls;
    server::Hooks hooks;
    // smtp_sasl_password_maps may be root's alone (0600), as Postfix's
    // sasl_passwd: it is opened before privileges are dropped.
    hooks.pre_drop = [&](server::ServerContext& ctx) {
        std::string error;
        sasl = smtp::SaslClient::create(ctx.config, error);
        if (!error.empty()) {
            util::msg_warn("smtp: {}", error);
            std::exit(75);
        }
        if (sasl) sasl->open_tables();
        // OpenSSL is loaded here only when smtp_tls_security_level asks for TLS.
        tls = smtp::TlsPolicy::create(ctx.config, error);
        if (!tls) {
            util::msg_warn("smtp: {}", error);
            std::exit(75);
        }
    };
    // Cached connections and the resolver live on the loop: gone before it is.
    hooks.before_exit = [&](server::ServerContext&) { agent.reset(); };
    return server::multi_server_main(
        argc, argv, "smtp",
        [&](server::ServerContext& ctx, util::Fd client, server::ClientDone done) {
            if (!agent) {
                std::string error;
                agent = smtp::Agent::create(ctx, error, smtp::Protocol::smtp, std::move(sasl), std::move(tls));
                if (!agent) {
                    util::msg_warn("smtp: {}", error);
                    std::exit(75);
                }
            }
            smtp::serve_qmgr(ctx, *agent, std::move(client), std::move(done));
        },
        hooks);
}
