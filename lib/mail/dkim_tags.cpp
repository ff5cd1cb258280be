#include "mail/dkim_tags.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cctype>

namespace kurir::mail {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_valchar(char c) { return c >= 0x21 && c <= 0x7e && c != ';'; }

// Skips folding white space: WSP, and a line end (CRLF or LF) only when
// white space follows it.
size_t skip_fws(std::string_view s, size_t i) {
    while (i < s.size()) {
        if (is_wsp(s[i])) {
            ++i;
        } else if (s[i] == '\r' && i + 2 < s.size() && s[i + 1] == '\n' && is_wsp(s[i + 2])) {
            i += 2;
        } else if (s[i] == '\n' && i + 1 < s.size() && is_wsp(s[i + 1])) {
            ++i;
        } else {
            break;
        }
    }
    return i;
}

std::string without_space(std::string_view s) {
    std::string out;
    for (char c : s)
        if (!is_wsp(c) && c != '\r' && c != '\n') out.push_back(c);
    return out;
}

bool is_base64(std::string_view s) {
    size_t pad = 0;
    for (char c : s) {
        if (c == '=') {
            ++pad;
            continue;
        }
        if (pad || !(is_alpha(c) || is_digit(c) || c == '+' || c == '/')) return false;
    }
    return pad <= 2 && s.size() % 4 == 0;
}

util::Result<uint64_t> number(std::string_view tag, std::string_view s) {
    if (s.empty() || s.size() > 19) return util::fail("DKIM " + std::string(tag) + "=: not a number");
    uint64_t v = 0;
    for (char c : s) {
        if (!is_digit(c)) return util::fail("DKIM " + std::string(tag) + "=: not a number");
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
}

const std::string* find(const std::vector<DkimTag>& tags, std::string_view name) {
    for (const auto& t : tags)
        if (t.name == name) return &t.value;
    return nullptr;
}

}  // namespace

util::Result<std::vector<DkimTag>> parse_dkim_tags(std::string_view text) {
    std::vector<DkimTag> tags;
    size_t i = skip_fws(text, 0);
    while (i < text.size()) {
        size_t start = i;
        if (!is_alpha(text[i])) return util::fail("DKIM tag list: a tag name must start with a letter");
        while (i < text.size() && (is_alpha(text[i]) || is_digit(text[i]) || text[i] == '_')) ++i;
        DkimTag tag;
        tag.name = std::string(text.substr(start, i - start));
        i = skip_fws(text, i);
        if (i >= text.size() || text[i] != '=') return util::fail("DKIM tag list: no \"=\" after " + tag.name);
        i = skip_fws(text, i + 1);
        // The value: VALCHARs, with folding white space only between them.
        size_t value_end = i;
        size_t j = i;
        while (j < text.size() && text[j] != ';') {
            if (is_valchar(text[j])) {
                ++j;
                value_end = j;
                continue;
            }
            size_t after = skip_fws(text, j);
            if (after == j) return util::fail("DKIM tag list: bad character in the value of " + tag.name);
            j = after;
        }
        tag.value = std::string(text.substr(i, value_end - i));
        for (const auto& t : tags)
            if (t.name == tag.name) return util::fail("DKIM tag list: " + tag.name + " twice");
        tags.push_back(std::move(tag));
        i = j;
        if (i < text.size()) i = skip_fws(text, i + 1);  // past ";"
    }
    return tags;
}

util::Result<DkimSignature> parse_dkim_signature(std::string_view value) {
    auto tags = parse_dkim_tags(value);
    if (!tags) return std::unexpected(tags.error());
    for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"})
        if (!find(*tags, required)) return util::fail(std::string("DKIM-Signature: no ") + required + "= tag");
    if (*find(*tags, "v") != "1") return util::fail("DKIM-Signature: v= is not 1");
    DkimSignature sig;
    sig.algorithm = util::lowercase(*find(*tags, "a"));
    if (sig.algorithm != "rsa-sha256" && sig.algorithm != "ed25519-sha256" && sig.algorithm != "rsa-sha1")
        return util::fail("DKIM-Signature: unknown algorithm " + sig.algorithm);
    sig.signature = without_space(*find(*tags, "b"));
    sig.body_hash = without_space(*find(*tags, "bh"));
    if (!is_base64(sig.signature) || !is_base64(sig.body_hash) || sig.body_hash.empty())
        return util::fail("DKIM-Signature: b= or bh= is not base64");
    if (const auto* c = find(*tags, "c")) {
        std::string canon = util::lowercase(*c);
        size_t slash = canon.find('/');
        sig.header_canon = canon.substr(0, slash);
        if (slash != std::string::npos) sig.body_canon = canon.substr(slash + 1);
        for (const auto& m : {sig.header_canon, sig.body_canon})
            if (m != "simple" && m != "relaxed") return util::fail("DKIM-Signature: unknown canonicalization " + m);
    }
    sig.domain = util::lowercase(*find(*tags, "d"));
    if (sig.domain.empty()) return util::fail("DKIM-Signature: empty d=");
    std::string h = without_space(*find(*tags, "h"));
    size_t start = 0;
    while (start <= h.size()) {
        size_t colon = h.find(':', start);
        std::string name = util::lowercase(h.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
        if (name.empty()) return util::fail("DKIM-Signature: empty name in h=");
        sig.headers.push_back(std::move(name));
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    if (std::find(sig.headers.begin(), sig.headers.end(), "from") == sig.headers.end())
        return util::fail("DKIM-Signature: h= does not sign From");
    sig.selector = util::lowercase(*find(*tags, "s"));
    if (sig.selector.empty()) return util::fail("DKIM-Signature: empty s=");
    if (const auto* i = find(*tags, "i")) {
        sig.identity = *i;
        size_t at = i->rfind('@');
        if (at == std::string::npos) return util::fail("DKIM-Signature: i= has no @");
        std::string domain = util::lowercase(i->substr(at + 1));
        bool inside = domain == sig.domain ||
                      (domain.size() > sig.domain.size() &&
                       domain.compare(domain.size() - sig.domain.size(), std::string::npos, sig.domain) == 0 &&
                       domain[domain.size() - sig.domain.size() - 1] == '.');
        if (!inside) return util::fail("DKIM-Signature: i= is not in d=");
    } else {
        sig.identity = "@" + sig.domain;
    }
    if (const auto* l = find(*tags, "l")) {
        auto n = number("l", *l);
        if (!n) return std::unexpected(n.error());
        sig.length = *n;
    }
    if (const auto* t = find(*tags, "t")) {
        auto n = number("t", *t);
        if (!n) return std::unexpected(n.error());
        sig.timestamp = *n;
    }
    if (const auto* x = find(*tags, "x")) {
        auto n = number("x", *x);
        if (!n) return std::unexpected(n.error());
        sig.expiration = *n;
        if (sig.timestamp && *sig.expiration < *sig.timestamp)
            return util::fail("DKIM-Signature: x= is before t=");
    }
    return sig;
}

util::Result<DkimKeyRecord> parse_dkim_key_record(std::string_view txt) {
    auto tags = parse_dkim_tags(txt);
    if (!tags) return std::unexpected(tags.error());
    if (const auto* v = find(*tags, "v"); v && *v != "DKIM1") return util::fail("DKIM key: v= is not DKIM1");
    if (!tags->empty() && find(*tags, "v") && tags->front().name != "v")
        return util::fail("DKIM key: v= is not the first tag");
    DkimKeyRecord key;
    if (const auto* k = find(*tags, "k")) key.key_type = util::lowercase(*k);
    const auto* p = find(*tags, "p");
    if (!p) return util::fail("DKIM key: no p= tag");
    key.public_key = without_space(*p);
    if (!is_base64(key.public_key)) return util::fail("DKIM key: p= is not base64");
    if (const auto* h = find(*tags, "h")) {
        std::string list = without_space(*h);
        size_t start = 0;
        while (start <= list.size()) {
            size_t colon = list.find(':', start);
            key.hash_algorithms.push_back(util::lowercase(list.substr(start, colon == std::string::npos ? colon : colon - start)));
            if (colon == std::string::npos) break;
            start = colon + 1;
        }
    }
    if (const auto* t = find(*tags, "t")) {
        std::string flags = without_space(*t);
        size_t start = 0;
        while (start <= flags.size()) {
            size_t colon = flags.find(':', start);
            std::string f = flags.substr(start, colon == std::string::npos ? colon : colon - start);
            key.testing |= f == "y";
            key.strict_identity |= f == "s";
            if (colon == std::string::npos) break;
            start = colon + 1;
        }
    }
    return key;
}

}  // namespace kurir::mail
