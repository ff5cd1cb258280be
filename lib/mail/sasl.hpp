// SMTP AUTH (RFC 4954) as pure functions over bytes: the AUTH command's
// arguments, a client's response line (base64, "=" for empty, "*" to
// cancel), and the two mechanisms kurir serves itself, PLAIN (RFC 4616:
// authzid NUL authcid NUL passwd) and LOGIN (username, then password, each
// asked for with a challenge).
#pragma once

#include "util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace kurir::mail {

// Longest AUTH command or response line smtpd reads (RFC 4954 4: 12288
// octets, CRLF included), as Postfix's smtpd_sasl_glue reads them.
constexpr size_t kMaxAuthLine = 12288;

// Base64 in its original variant, strictly: padding required, no
// whitespace, no characters outside the alphabet.
util::Result<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

// "AUTH mechanism [initial-response]": the mechanism uppercased (1-20
// characters of A-Z 0-9 - _), the initial response as sent (still base64).
struct AuthArgs {
    std::string mechanism;
    std::optional<std::string> initial;
};
util::Result<AuthArgs> parse_auth_args(std::string_view arg);

// A response to a 334 challenge, or an initial response: "*" cancels, "="
// is the empty response, anything else must be base64.
struct SaslCancel {};
struct SaslBadBase64 {};
using SaslResponse = std::variant<std::string, SaslCancel, SaslBadBase64>;
SaslResponse parse_sasl_response(std::string_view text);

// RFC 4616: each field at most 255 octets, authcid and passwd not empty, no
// NUL in any field.
struct PlainCredentials {
    std::string authzid;
    std::string authcid;
    std::string passwd;
};
util::Result<PlainCredentials> parse_plain(std::string_view bytes);

// The server side of PLAIN or LOGIN when kurir checks the password itself:
// start with the mechanism and the initial response (decoded), then feed it
// each decoded response until it says credentials or failure.
class MechanismExchange {
public:
    struct Challenge { std::string bytes; };  // send "334 " + base64(bytes)
    struct Credentials { std::string username; std::string password; };
    struct Failure { std::string reason; };
    using Step = std::variant<Challenge, Credentials, Failure>;

    // mechanism is PLAIN or LOGIN (uppercase); other names fail.
    static Step start(std::string_view mechanism, std::optional<std::string_view> initial,
                      MechanismExchange& out);
    Step next(std::string_view response);

private:
    enum class Phase { plain, login_user, login_password, done } phase_ = Phase::done;
    std::string username_;
};

}  // namespace kurir::mail
