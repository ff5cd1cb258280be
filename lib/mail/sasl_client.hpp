// The smtp client's side of SMTP AUTH (RFC 4954) as pure functions: which
// mechanisms may be used (smtp_sasl_mechanism_filter, the security options
// of smtp_sasl_security_options and friends), the keys under which
// smtp_sasl_password_maps is searched, and the PLAIN (RFC 4616) and LOGIN
// exchanges. The server side is in mail/sasl.hpp.
#pragma once

#include "util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kurir::mail {

// Cyrus SASL's security properties, as Postfix's smtp_sasl_security_options
// names them. noplaintext refuses PLAIN and LOGIN (they send the password
// as it is); noanonymous refuses ANONYMOUS. noactive, nodictionary and
// mutual_auth are accepted and hold no mechanism kurir has.
struct SaslSecurityOptions {
    bool noplaintext = false;
    bool noanonymous = false;
    bool noactive = false;
    bool nodictionary = false;
    bool mutual_auth = false;
};
// A list as main.cf gives it ("noplaintext, noanonymous"); an unknown word
// is an error naming it.
util::Result<SaslSecurityOptions> parse_sasl_security_options(const std::vector<std::string>& words);

// The mechanisms an EHLO reply's AUTH line announces ("PLAIN LOGIN"),
// uppercased, kept only when smtp_sasl_mechanism_filter (empty: all) names
// them, in the server's order (Postfix's smtp_sasl_compat_mechs).
std::vector<std::string> filter_sasl_mechanisms(std::string_view announced, const std::vector<std::string>& filter);

// The client mechanism used with the server's list and the options: PLAIN
// before LOGIN. Empty when none is allowed (Cyrus's "no mechanism
// available", Postfix's text for it).
std::optional<std::string> choose_sasl_mechanism(const std::vector<std::string>& offered,
                                                 const SaslSecurityOptions& options);

// The keys under which smtp_sasl_password_maps is searched, in order, as
// Postfix's smtp_sasl_passwd_lookup: with smtp_sender_dependent_authentication
// the sender ("user@domain", then "@domain"; never for the null sender),
// then the remote host name, then the nexthop exactly as in relayhost or
// the transport table ("[mail.isp.example]:587").
std::vector<std::string> sasl_password_keys(std::string_view sender, bool sender_dependent, std::string_view host,
                                            std::string_view nexthop);

// A table value "username:password" (the password may hold ':'; no ':'
// is an empty password, as Postfix's split_at).
struct SaslLogin {
    std::string username;
    std::string password;
};
SaslLogin parse_sasl_login(std::string_view value);

// One client exchange: the AUTH command, then a response line to each 334
// challenge until the server's 2xx or 5xx.
class SaslClientExchange {
public:
    // mechanism: PLAIN or LOGIN.
    SaslClientExchange(std::string mechanism, SaslLogin login);
    // "AUTH PLAIN <initial response>" or "AUTH LOGIN", without CRLF.
    std::string command() const;
    // The line that answers a 334 challenge (its text after "334 ", still
    // base64), without CRLF; an error when the challenge is not base64 or
    // comes when nothing more is to be said.
    util::Result<std::string> respond(std::string_view challenge);
    const std::string& mechanism() const { return mechanism_; }

private:
    std::string mechanism_;
    SaslLogin login_;
    int step_ = 0;
};

}  // namespace kurir::mail
