#include "mail/sasl.hpp"

#include <sodium.h>

#include <cctype>

namespace kurir::mail {

namespace {
// Not std::isalnum: its answer for bytes above 0x7f depends on the locale.
bool ascii_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
}  // namespace

util::Result<std::string> base64_decode(std::string_view text) {
    // sodium_base642bin takes some bytes above 0x7f for letters (found by
    // t/fuzz/sasl_fuzz): only the alphabet and padding get that far.
    for (char c : text)
        if (!ascii_alnum(c) && c != '+' && c != '/' && c != '=') return util::fail("base64: malformed input");
    std::string out(text.size() / 4 * 3 + 3, '\0');
    size_t len = 0;
    const char* end = nullptr;
    if (text.size() % 4 != 0 ||
        sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                          nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text.data() + text.size())
        return util::fail("base64: malformed input");
    out.resize(len);
    return out;
}

std::string base64_encode(std::string_view bytes) {
    size_t n = sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
    std::string out(n, '\0');
    sodium_bin2base64(out.data(), n, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(n - 1);  // the terminating NUL
    return out;
}

util::Result<AuthArgs> parse_auth_args(std::string_view arg) {
    size_t sp = arg.find(' ');
    std::string_view mech = arg.substr(0, sp);
    if (mech.empty() || mech.size() > 20) return util::fail("AUTH: bad mechanism name");
    AuthArgs a;
    for (char c : mech) {
        auto u = static_cast<unsigned char>(c);
        if (!ascii_alnum(c) && c != '-' && c != '_') return util::fail("AUTH: bad mechanism name");
        a.mechanism += static_cast<char>(std::toupper(u));
    }
    if (sp != std::string_view::npos) {
        std::string_view rest = arg.substr(sp + 1);
        if (rest.empty() || rest.find(' ') != std::string_view::npos)
            return util::fail("AUTH: bad initial response");
        a.initial = std::string(rest);
    }
    return a;
}

SaslResponse parse_sasl_response(std::string_view text) {
    if (text == "*") return SaslCancel{};
    if (text == "=") return std::string();
    if (text.empty()) return SaslBadBase64{};  // RFC 4954: an empty response is "="
    auto bytes = base64_decode(text);
    if (!bytes) return SaslBadBase64{};
    return std::move(*bytes);
}

util::Result<PlainCredentials> parse_plain(std::string_view bytes) {
    size_t a = bytes.find('\0');
    if (a == std::string_view::npos) return util::fail("PLAIN: no NUL separator");
    size_t b = bytes.find('\0', a + 1);
    if (b == std::string_view::npos) return util::fail("PLAIN: one NUL separator, want two");
    PlainCredentials c{std::string(bytes.substr(0, a)), std::string(bytes.substr(a + 1, b - a - 1)),
                       std::string(bytes.substr(b + 1))};
    if (c.passwd.find('\0') != std::string::npos) return util::fail("PLAIN: more than two NUL separators");
    if (c.authcid.empty()) return util::fail("PLAIN: empty authentication identity");
    if (c.passwd.empty()) return util::fail("PLAIN: empty password");
    if (c.authzid.size() > 255 || c.authcid.size() > 255 || c.passwd.size() > 255)
        return util::fail("PLAIN: field longer than 255 octets");
    return c;
}

namespace {
// What LOGIN asks, as every implementation does ("Username:", "Password:").
constexpr std::string_view kLoginUser = "Username:";
constexpr std::string_view kLoginPassword = "Password:";

bool field_ok(std::string_view s) { return !s.empty() && s.size() <= 255 && s.find('\0') == std::string_view::npos; }
}  // namespace

MechanismExchange::Step MechanismExchange::start(std::string_view mechanism, std::optional<std::string_view> initial,
                                                 MechanismExchange& out) {
    out = MechanismExchange();
    if (mechanism == "PLAIN") {
        out.phase_ = Phase::plain;
        if (!initial) return Challenge{""};
        return out.next(*initial);
    }
    if (mechanism == "LOGIN") {
        out.phase_ = Phase::login_user;
        if (!initial) return Challenge{std::string(kLoginUser)};
        return out.next(*initial);
    }
    return Failure{"unsupported mechanism"};
}

MechanismExchange::Step MechanismExchange::next(std::string_view response) {
    Phase phase = phase_;
    phase_ = Phase::done;
    switch (phase) {
        case Phase::plain: {
            auto c = parse_plain(response);
            if (!c) return Failure{c.error().text};
            // Acting as another user (authzid) is not offered.
            if (!c->authzid.empty() && c->authzid != c->authcid)
                return Failure{"PLAIN: authorization identity differs from authentication identity"};
            return Credentials{std::move(c->authcid), std::move(c->passwd)};
        }
        case Phase::login_user:
            if (!field_ok(response)) return Failure{"LOGIN: bad user name"};
            username_ = std::string(response);
            phase_ = Phase::login_password;
            return Challenge{std::string(kLoginPassword)};
        case Phase::login_password:
            if (!field_ok(response)) return Failure{"LOGIN: bad password"};
            return Credentials{std::move(username_), std::string(response)};
        case Phase::done: break;
    }
    return Failure{"exchange already finished"};
}

}  // namespace kurir::mail
