// The Authentication-Results header field (RFC 8601) as pure functions: the
// field a verifier adds, written from the results of its checks, and the
// authserv-id of a field a message already carries (a border MTA removes
// those that claim its own id, RFC 8601 section 5).
//
//   Authentication-Results: mx.example.org;
//   	dkim=pass header.d=example.org header.s=sel header.a=rsa-sha256 header.b=abcdefgh;
//   	dkim=fail (body hash did not verify) header.d=example.net ...
//
// Values that are not RFC 2045 tokens are written as quoted strings,
// comments have their parentheses and backslashes quoted, and bytes that
// are not printable ASCII become "?", so that nothing taken from a message
// (a selector, a domain) can end the field or add one. Lines are folded
// before a property that would take them past 78 characters.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::mail {

struct AuthResult {
    std::string method;   // "dkim", "spf"
    std::string result;   // "pass", "fail", "none", "temperror", ...
    std::string comment;  // why (may be empty): written as "(comment)" after the result
    // "ptype.property" and its value: {"header.d", "example.org"}
    std::vector<std::pair<std::string, std::string>> properties;
};

// The whole field, "Authentication-Results: " included, its physical lines
// joined by "\n" without a final line end. No results: "authserv-id; none".
std::string format_auth_results(std::string_view authserv_id, const std::vector<AuthResult>& results);

// s as an RFC 2045 value: itself when it is a token, else a quoted string.
std::string auth_results_value(std::string_view s);

// The authserv-id of an Authentication-Results field's value (what follows
// the colon, folding included): the first value after comments and white
// space, unquoted; nullopt when there is none.
std::optional<std::string> auth_results_authserv_id(std::string_view value);

}  // namespace kurir::mail
