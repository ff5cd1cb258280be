// The smtp client's SASL login to a server (smtp_sasl_auth_enable), as
// Postfix's smtp_sasl_glue and smtp_sasl_proto: after EHLO (after
// STARTTLS when TLS is used), a server that announces AUTH is logged in to
// when smtp_sasl_password_maps has a "username:password" for the sender
// (smtp_sender_dependent_authentication), the server's host name or the
// nexthop; without an entry the client talks to it as a stranger. The
// security options of the connection (smtp_sasl_security_options in
// plaintext, smtp_sasl_tls_security_options over TLS,
// smtp_sasl_tls_verified_security_options over verified TLS; by default
// all "noplaintext, noanonymous") decide whether PLAIN or LOGIN may be
// used: by default never, so a password is sent only where the admin said
// so. A failed login is a failure of that server: the next one is tried,
// and a 5xx is made 4xx with smtp_sasl_auth_soft_bounce (default yes), so
// the mail is deferred, not bounced.
#pragma once

#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "mail/sasl_client.hpp"
#include "mail/smtp_reply.hpp"

#include <memory>
#include <optional>
#include <string>

namespace kurir::smtp {

struct Connection;

// What to do once EHLO is done: log in with exchange, go on without
// logging in (neither set), or give up on this server (dsn and reason).
struct SaslPlan {
    std::optional<mail::SaslClientExchange> exchange;
    std::string dsn;
    std::string reason;
};

class SaslClient {
public:
    // nullptr with error empty when smtp_sasl_auth_enable is off; errors
    // name the parameter.
    static std::unique_ptr<SaslClient> create(const mail::Config& cfg, std::string& error);

    // conn: after its last EHLO; verified: its TLS peer passed
    // verification; nexthop: the destination as written (relayhost, a
    // transport table, a fallback relay).
    SaslPlan plan(const Connection& conn, bool verified, const std::string& sender, const std::string& nexthop);
    // The server's final reply to AUTH was not 2xx: the dsn (5xx made 4xx
    // with smtp_sasl_auth_soft_bounce) and Postfix's text.
    std::pair<std::string, std::string> failed(const mail::SmtpReply& r, const std::string& peer) const;
    // Opens smtp_sasl_password_maps now: called as root before privileges
    // are dropped, so the table may be root's alone (mode 0600), as
    // Postfix's sasl_passwd. A table rebuilt later is reopened as mail_owner.
    void open_tables() { (void)passwords_.get(cfg_); }
    // The keys differ by sender: connections are cached per sender.
    bool sender_dependent() const { return sender_dependent_; }

private:
    explicit SaslClient(const mail::Config& cfg) : cfg_(cfg) {}
    const mail::Config& cfg_;
    mail::WatchedMaps passwords_{"smtp_sasl_password_maps"};
    mail::SaslSecurityOptions plain_, tls_, verified_;
    std::vector<std::string> filter_;
    bool sender_dependent_ = false;
    bool soft_bounce_ = true;
};

}  // namespace kurir::smtp
