#include "mail/smtputf8.hpp"

#include "mail/address.hpp"

#include <array>

namespace kurir::mail {

bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = 0;
        unsigned min = 0;
        unsigned cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2, min = 0x80, cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3, min = 0x800, cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4, min = 0x10000, cp = c & 0x07u;
        } else {
            return false;  // a continuation byte, 0xc0/0xc1 (overlong) or above 0xf4
        }
        if (i + len > s.size()) return false;
        for (size_t k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0u) != 0x80u) return false;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

bool all_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) > 0x7f) return false;
    return true;
}

bool needs_smtputf8(std::string_view sender, const std::vector<std::string>& recipients,
                    const std::vector<std::string_view>& header_lines) {
    if (!all_ascii(sender)) return true;
    for (const auto& r : recipients)
        if (!all_ascii(r)) return true;
    for (auto h : header_lines)
        if (!all_ascii(h)) return true;
    return false;
}

Smtputf8Send smtputf8_decision(bool requested, bool server_offers, bool needs_utf8) {
    if (!requested) return Smtputf8Send::plain;
    if (server_offers) return Smtputf8Send::smtputf8;
    return needs_utf8 ? Smtputf8Send::bounce : Smtputf8Send::plain;
}

std::string smtputf8_line_refusal(std::string_view line, bool enabled) {
    if (!enabled || valid_utf8(line)) return {};
    return "500 5.5.2 Error: bad UTF-8 syntax";
}

std::string smtputf8_param_refusal(std::string_view value, bool enabled) {
    if (!enabled) return "555 5.5.4 Unsupported option: SMTPUTF8";
    if (!value.empty()) return "555 5.5.4 Unsupported option: SMTPUTF8=" + std::string(value);
    return {};
}

std::string smtputf8_address_refusal(std::string_view address, bool declared, bool strict,
                                     std::string_view syntax_reply) {
    if (declared || all_ascii(address)) return {};
    if (strict) return "553 5.6.7 Must declare SMTPUTF8 to send unicode address";
    if (!all_ascii(domain_part(address))) return std::string(syntax_reply);
    return {};
}

util::Result<Smtputf8Autodetect> parse_smtputf8_autodetect(const std::vector<std::string>& classes) {
    static constexpr std::array<std::string_view, 8> kNames{"bounce", "notify", "verify", "sendmail",
                                                            "smtpd",  "qmqpd",  "forward", "all"};
    Smtputf8Autodetect out;
    for (const auto& c : classes) {
        std::string name = lowercase(c);
        bool known = false;
        for (auto n : kNames) known = known || n == name;
        if (!known) return util::fail("smtputf8_autodetect_classes: unknown class \"" + c + "\"");
        if (name == "sendmail" || name == "all") out.sendmail = true;
    }
    return out;
}

}  // namespace kurir::mail
