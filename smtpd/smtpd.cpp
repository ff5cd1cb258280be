// NAME
//   smtpd - the SMTP server
// DESCRIPTION
//   Speaks ESMTP (RFC 5321) to network clients on the socket master passes:
//   EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, VRFY, HELP, STARTTLS,
//   with PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES and (when
//   smtpd_tls_security_level is may or encrypt) STARTTLS (RFC 3207); with
//   smtpd_tls_wrappermode = yes the whole session is TLS from its first byte
//   (port 465, RFC 8314). After STARTTLS the session starts over (HELO and
//   transaction forgotten); with encrypt, MAIL, RCPT, DATA and VRFY before
//   it get 530 5.7.0. Received: says ESMTPS for mail that came over TLS
//   (RFC 3848), and with smtpd_tls_received_header the protocol and
//   cipher. With smtputf8_enable (the default) it offers SMTPUTF8 (RFC
//   6531): MAIL FROM's SMTPUTF8 lets UTF-8 domains in, puts the request in
//   the queue file and makes Received: say UTF8SMTP; undeclared UTF-8 local
//   parts pass unless strict_smtputf8; a command line that is not UTF-8 gets
//   500 5.5.2 (Postfix's replies). Many sessions per process on one event loop. Each recipient
//   passes Postfix's restriction lists (client, helo, sender, relay,
//   recipient: all at RCPT with smtpd_delay_reject = yes, else each at its
//   command), DATA the data restrictions and the final dot the end-of-data
//   ones (mail/restrictions.hpp lists the restrictions kurir implements:
//   access tables, restriction classes, syntax checks, DNS and DNSBL checks
//   asked of c-ares without blocking the loop); smtpd refuses to start with
//   any other name or with lists that would relay for anyone. A check that
//   cannot be made defers (451 4.3.0). An access table's HOLD sends the
//   message to the hold queue, DISCARD drops it after 250. Local recipients
//   are validated against local_recipient_maps (postmaster always exists),
//   recipients in relay_domains against relay_recipient_maps; an address
//   virtual_alias_maps knows exists, one in virtual_alias_domains that it
//   does not know is refused (User unknown in virtual alias table).
//   An SRS address at srs_domain (SRS0=...@, SRS1=...@; smtpd_srs.hpp) is
//   accepted when its hash (one of srs_secrets) and time stamp are good and
//   goes to the address it stands for; any other is refused as an unknown
//   user (550 5.1.1).
//   Each message streams to cleanup as it arrives; the client gets 250 only once the queue file is durable.
//   The end of data is CRLF "." CRLF and nothing else (no SMTP smuggling).
//   CHUNKING (RFC 3030, as Postfix's smtpd: without BINARYMIME): BDAT n
//   [LAST] takes exactly n bytes, pipelined commands may follow in the same
//   write, and the content reaches cleanup as DATA's lines (CRLF the line
//   end, no dot-unstuffing, no end marker); smtpd_discard_ehlo_keywords
//   may withdraw it (or any other keyword).
//   With smtpd_sasl_auth_enable, AUTH PLAIN and LOGIN (RFC 4954) against
//   Dovecot's auth server (smtpd_sasl_type = dovecot, smtpd_sasl_path) or
//   kurir's argon2id table (smtpd_sasl_type = kurir, made by kurir-passwd);
//   with smtpd_tls_auth_only (the default) only under TLS.
//   With smtpd_dkim_verify = yes (kurir's own parameter, on by default;
//   Postfix needs a milter for this; each signature costs a DNS lookup),
//   mail from clients neither in mynetworks nor authenticated
//   gets its DKIM signatures checked (at most dkim_verify_max_signatures,
//   keys asked of DNS without blocking the loop, dkim_verify_timeout in
//   all) and an "Authentication-Results: $dkim_authserv_id;" header (RFC
//   8601) with dkim=pass, fail, neutral, policy, temperror, permerror per
//   signature or dkim=none; such headers from the client that claim
//   dkim_authserv_id are removed. The message is never refused for it.
// SECURITY
//   Runs as mail_owner. Everything the client sends is hostile: command
//   lines are limited to 512 octets, errors are counted and slowed, idle
//   sessions time out, and no reverse DNS blocks the loop. Password hashes
//   are verified on one worker thread per process, never on the loop; the
//   password table is opened before privileges are dropped. smtpd reads no
//   more from a client while 64 KB of replies wait unread, while cleanup
//   has the message, or while 64 KB of input wait unused; a session that
//   times out ends at once, whether or not the client takes its 421 (over
//   TLS, nothing but what is already encrypted is written). What a client
//   sends behind STARTTLS in plaintext is discarded (CVE-2011-0411); a
//   failed handshake or garbage instead of a ClientHello ends that session
//   only. smtpd never opens the TLS key: master (root) reads and checks it
//   at start and reload, and passes the bytes on fd 5 (server/tls_credentials).
//   A session that lasts longer than smtpd_session_time_limit (kurir's own
//   parameter: smtpd_timeout bounds each read, not the whole) ends the same
//   way, however slowly the client dribbles bytes. Before the greeting,
//   anvil counts the client's connections across every smtpd process of
//   the instance: past smtpd_client_connection_count_limit the client gets
//   421 4.7.0 (clients in smtpd_client_event_limit_exceptions are not
//   counted); when anvil cannot answer, the client is served and that is
//   logged. A milter (smtpd_milters) is another program and as hostile as
//   a client: its replies are decoded strictly, each command's answer waits
//   at most its timeout (progress restarts it, up to ten times), its edits
//   are bounded as a client's input is (header_size_limit,
//   message_size_limit, smtpd_recipient_limit, line_length_limit: past
//   them, 552 5.3.4) and reach the message only through cleanup, whole.
// CONFIGURATION PARAMETERS
//   smtpd_banner, message_size_limit, mynetworks, mydestination,
//   smtpd_recipient_limit, smtpd_timeout, smtpd_session_time_limit,
//   smtpd_soft_error_limit,
//   smtpd_hard_error_limit, smtpd_junk_command_limit, smtpd_error_sleep_time,
//   smtpd_forbid_bare_newline, smtpd_forbid_bare_newline_exclusions,
//   smtpd_forbid_bare_newline_reject_code, smtpd_discard_ehlo_keywords, smtpd_client_restrictions,
//   smtpd_helo_restrictions, smtpd_sender_restrictions,
//   smtpd_relay_restrictions, smtpd_recipient_restrictions,
//   smtpd_data_restrictions, smtpd_end_of_data_restrictions,
//   smtpd_delay_reject, smtpd_restriction_classes,
//   smtpd_reject_unlisted_recipient, access_map_reject_code,
//   access_map_defer_code, non_fqdn_reject_code, invalid_hostname_reject_code,
//   unknown_local_recipient_reject_code, unknown_address_reject_code,
//   maps_rbl_reject_code, dns_resolver_address, smtpd_dkim_verify,
//   dkim_authserv_id, dkim_verify_max_signatures, dkim_verify_timeout,
//   header_size_limit,
//   smtpd_sender_login_maps, local_recipient_maps, recipient_delimiter,
//   relay_domains, relay_recipient_maps, unknown_relay_recipient_reject_code,
//   relay_domains_reject_code, virtual_alias_domains, virtual_alias_maps,
//   unknown_virtual_alias_reject_code,
//   smtpd_helo_required, smtputf8_enable, strict_smtputf8,
//   smtpd_tls_security_level, smtpd_tls_wrappermode,
//   smtpd_tls_cert_file, smtpd_tls_key_file, smtpd_tls_chain_files,
//   smtpd_tls_protocols, smtpd_tls_mandatory_protocols, smtpd_tls_ciphers,
//   smtpd_tls_mandatory_ciphers, smtpd_tls_loglevel, smtpd_tls_received_header,
//   smtpd_client_connection_count_limit, smtpd_client_event_limit_exceptions,
//   smtpd_sasl_auth_enable, smtpd_tls_auth_only, smtpd_sasl_type,
//   smtpd_sasl_path, smtpd_sasl_service, smtpd_sasl_password_maps,
//   smtpd_sasl_security_options, srs_domain, srs_secrets, smtpd_milters,
//   milter_default_action,
//   milter_protocol, milter_connect_timeout, milter_command_timeout,
//   milter_content_timeout, milter_connect_macros, milter_helo_macros,
//   milter_mail_macros, milter_rcpt_macros, milter_data_macros,
//   milter_end_of_header_macros, milter_end_of_data_macros,
//   milter_unknown_command_macros, milter_macro_daemon_name, milter_macro_v
#include "daemons/daemons.hpp"
#include "smtpd/smtpd_session.hpp"
#include "util/log.hpp"

#include <optional>
#include <utility>

using namespace kurir;

// Clients one smtpd process serves at once. A process costs about 0.5 MB
// of private memory of its own, 0.9 MB once it has loaded OpenSSL for TLS
// (server/libssl.hpp; libcrypto's relocated data is 0.4 MB of it), and an
// idle session about 2.7 KB, so at 200 per process the process was most of
// an idle session's cost (bench idle: 8.9 KB per session at 200, 4.6 at
// 1,000).
// The open-file limit may allow fewer (server/open_files.hpp).
constexpr int kClientsPerProcess = 1000;

int kurir::daemons::smtpd_main(int argc, char** argv) {
    std::optional<smtpd::SmtpdPolicy> policy;
    server::Hooks hooks;
    hooks.pre_drop = [&](server::ServerContext& ctx) {
        auto p = smtpd::load_policy(ctx.config);
        if (!p) util::msg_fatal("{}", p.error().text);
        policy = std::move(*p);
        // Before privileges go: the credentials master passed, or the key
        // files themselves.
        auto tls = smtpd::load_tls(ctx.config);
        if (!tls) util::msg_fatal("{}", tls.error().text);
        policy->tls = std::move(*tls);
    };
    bool sasl_bound = false;  // the loop exists once the first client comes
    // The SASL backend and the kept cleanup connections have events on the
    // loop: they go before the loop does.
    hooks.before_exit = [&](server::ServerContext&) {
        policy->sasl.reset();
        policy->cleanup_conns.reset();
    };
    return server::multi_server_main(
        argc, argv, "smtpd",
        [&](server::ServerContext& ctx, util::Fd fd, server::ClientDone done) {
            if (policy->sasl && !std::exchange(sasl_bound, true)) policy->sasl->bind(ctx.base, ctx.queue.root());
            smtpd::Session::start(ctx, *policy, std::move(fd), std::move(done));
        },
        hooks, kClientsPerProcess);
}
