#include "mail/address.hpp"
#include "util/text.hpp"

#include "mail/smtputf8.hpp"

#include <cctype>
#include <fmt/format.h>

namespace kurir::mail {
namespace {

bool is_atext(unsigned char c) {
    if (c >= 0x80) return true;  // 8-bit local parts are accepted, as Postfix does
    if (isalnum(c)) return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~.").find(static_cast<char>(c)) != std::string_view::npos;
}

bool valid_domain(std::string_view d) {
    if (d.empty() || d.size() > 253) return false;
    if (d.front() == '[') {
        if (d.back() != ']' || d.size() < 3) return false;
        for (char c : d.substr(1, d.size() - 2))
            if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':')) return false;
        return true;
    }
    size_t label = 0;
    for (size_t i = 0; i < d.size(); ++i) {
        auto c = static_cast<unsigned char>(d[i]);
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        // UTF-8 labels (RFC 6531): smtpd lets them through only after
        // MAIL FROM's SMTPUTF8 (smtputf8_address_refusal).
        if (!(isalnum(c) || c == '-' || c == '_' || c >= 0x80)) return false;
        if (++label > 63) return false;
    }
    if (!all_ascii(d) && !valid_utf8(d)) return false;
    return label > 0 || d.back() == '.';
}

// Parses "local@domain" (external form) to internal form.
util::Result<std::string> parse_mailbox(std::string_view s) {
    if (s.empty()) return util::fail("empty address");
    std::string local;
    size_t i = 0;
    if (s[0] == '"') {
        ++i;
        bool closed = false;
        while (i < s.size()) {
            auto c = static_cast<unsigned char>(s[i]);
            if (c == '"') {
                closed = true;
                ++i;
                break;
            }
            if (c == '\\') {
                if (++i >= s.size()) return util::fail("bad quoted local part");
                c = static_cast<unsigned char>(s[i]);
            }
            if (c < 0x20 || c == 0x7f) return util::fail("control character in address");
            local += static_cast<char>(c);
            ++i;
        }
        if (!closed) return util::fail("unterminated quoted local part");
        if (i < s.size() && s[i] != '@') return util::fail("text after quoted local part");
        // The internal form could not tell a quoted '@' from the domain's.
        if (i == s.size() && local.find('@') != std::string::npos)
            return util::fail("quoted local part with '@' needs a domain");
    } else {
        while (i < s.size() && s[i] != '@') {
            auto c = static_cast<unsigned char>(s[i]);
            if (!is_atext(c)) return util::fail(fmt::format("bad character in address: 0x{:02x}", c));
            local += static_cast<char>(c);
            ++i;
        }
        if (local.empty()) return util::fail("empty local part");
    }
    if (i == s.size()) return local;  // no domain
    std::string_view domain = s.substr(i + 1);
    if (!valid_domain(domain)) return util::fail("bad domain in address");
    return local + "@" + std::string(domain);
}

}  // namespace

util::Result<ParsedPath> parse_path(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    ParsedPath out;
    std::string_view inner;
    if (!text.empty() && text.front() == '<') {
        // Find the closing '>' outside quotes.
        bool quoted = false;
        size_t i = 1;
        for (; i < text.size(); ++i) {
            if (text[i] == '\\' && quoted) {
                ++i;
                continue;
            }
            if (text[i] == '"') quoted = !quoted;
            if (text[i] == '>' && !quoted) break;
        }
        if (i >= text.size()) return util::fail("missing '>' in address");
        inner = text.substr(1, i - 1);
        out.rest = text.substr(i + 1);
        if (!out.rest.empty() && out.rest.front() != ' ') return util::fail("text after '>' in address");
    } else {
        size_t sp = text.find(' ');
        inner = text.substr(0, sp);
        out.rest = sp == text.npos ? std::string_view() : text.substr(sp);
        if (inner.empty()) return util::fail("missing address");
    }
    while (!out.rest.empty() && out.rest.front() == ' ') out.rest.remove_prefix(1);
    if (inner.size() > kMaxAddress + 2) return util::fail("address too long");
    if (inner.empty()) return out;  // <>
    if (inner.front() == '@') {  // source route: drop it
        size_t colon = inner.find(':');
        if (colon == inner.npos) return util::fail("bad source route");
        inner.remove_prefix(colon + 1);
    }
    auto mbox = parse_mailbox(inner);
    if (!mbox) return std::unexpected(mbox.error());
    if (mbox->size() > kMaxAddress) return util::fail("address too long");
    out.address = std::move(*mbox);
    return out;
}

util::Result<std::string> parse_address(std::string_view text) {
    if (text.size() > kMaxAddress + 2) return util::fail("address too long");
    auto r = parse_mailbox(text);
    if (!r) {
        // Already internal form? Accept if quoting it parses back the same.
        std::string q = quote_address(text);
        auto again = parse_mailbox(q);
        if (!again || *again != text) return r;
        r = std::string(text);
    }
    if (r->size() > kMaxAddress) return util::fail("address too long");
    return r;
}

std::string quote_address(std::string_view internal) {
    if (internal.empty()) return {};  // the null sender <>
    size_t at = internal.rfind('@');
    std::string_view local = internal.substr(0, at);
    bool needs = local.empty();
    for (size_t i = 0; i < local.size(); ++i) {
        auto c = static_cast<unsigned char>(local[i]);
        if (!is_atext(c) || (c == '.' && (i == 0 || i + 1 == local.size() || local[i + 1] == '.')))
            needs = true;
    }
    std::string out;
    if (needs) {
        out += '"';
        for (char c : local) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    } else {
        out += local;
    }
    if (at != std::string_view::npos) out += internal.substr(at);
    return out;
}

std::string_view local_part(std::string_view internal) {
    return internal.substr(0, internal.rfind('@'));
}

std::string_view domain_part(std::string_view internal) {
    size_t at = internal.rfind('@');
    return at == internal.npos ? std::string_view() : internal.substr(at + 1);
}

std::string lowercase(std::string_view s) { return util::lowercase(s); }

bool safe_mailbox_name(std::string_view local) {
    if (local.empty() || local.front() == '.' || local.size() > 255) return false;
    for (char c : local) {
        auto u = static_cast<unsigned char>(c);
        if (c == '/' || u < 0x20 || u == 0x7f) return false;
    }
    return local.find("..") == std::string_view::npos;
}

}  // namespace kurir::mail
