#include "mail/pgsql_query.hpp"

#include "mail/address.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kurir::mail {
namespace {

constexpr std::string_view kExpansions = "%sudSUD123456789";

// user@domain split at the last "@"; no "@": the whole text is the user.
struct Parts {
    std::string_view whole;
    std::string_view user;
    std::optional<std::string_view> domain;
};

Parts split(std::string_view s) {
    size_t at = s.rfind('@');
    if (at == std::string_view::npos) return {s, s, std::nullopt};
    return {s, s.substr(0, at), s.substr(at + 1)};
}

// Component n (1 = the rightmost) of a domain; empty labels do not count.
std::optional<std::string_view> domain_label(std::string_view domain, int n) {
    std::vector<std::string_view> labels;
    size_t start = 0;
    while (start <= domain.size()) {
        size_t dot = domain.find('.', start);
        if (dot == std::string_view::npos) dot = domain.size();
        if (dot > start) labels.push_back(domain.substr(start, dot - start));
        start = dot + 1;
    }
    if (n > static_cast<int>(labels.size())) return std::nullopt;
    return labels[labels.size() - static_cast<size_t>(n)];
}

// One expansion of text with the lower-case letters from `value`, upper-case
// letters and digits from `key`; nullopt when a piece is missing.
util::Result<std::optional<std::string>> expand(std::string_view text, std::string_view value, std::string_view key,
                                                const SqlEscaper* escape) {
    std::string out;
    const Parts v = split(value), k = split(key);
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 1 >= text.size()) return util::fail("invalid % sequence at the end");
        char c = text[++i];
        if (c == '%') {
            out += '%';
            continue;
        }
        const Parts& p = (c >= 'a' && c <= 'z') ? v : k;
        std::optional<std::string_view> piece;
        switch (c) {
            case 's': case 'S': piece = p.whole; break;
            case 'u': case 'U':
                if (!p.domain || !p.user.empty()) piece = p.user;
                break;
            case 'd': case 'D':
                if (p.domain && !p.domain->empty()) piece = p.domain;
                break;
            default:
                if (c < '1' || c > '9') return util::fail(fmt::format("invalid % sequence \"%{}\"", c));
                if (p.domain) piece = domain_label(*p.domain, c - '0');
        }
        if (!piece) return std::optional<std::string>();
        if (escape) {
            auto escaped = (*escape)(*piece);
            if (!escaped) return std::unexpected(escaped.error());
            out += *escaped;
        } else {
            out += *piece;
        }
    }
    return std::optional<std::string>(std::move(out));
}

}  // namespace

util::Result<void> check_pgsql_template(std::string_view text) {
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') continue;
        if (i + 1 >= text.size()) return util::fail("invalid % sequence at the end");
        char c = text[++i];
        if (c == '\0' || kExpansions.find(c) == std::string_view::npos)
            return util::fail(fmt::format("invalid % sequence \"%{}\"", c));
    }
    return {};
}

bool pgsql_domain_allows(const std::vector<std::string>& domains, std::string_view key) {
    if (domains.empty()) return true;
    size_t at = key.rfind('@');
    if (at == std::string_view::npos || at == 0) return false;
    std::string domain = lowercase(key.substr(at + 1));
    return std::find(domains.begin(), domains.end(), domain) != domains.end();
}

util::Result<std::optional<std::string>> expand_pgsql_query(std::string_view query, std::string_view key,
                                                            const SqlEscaper& escape) {
    return expand(query, key, key, &escape);
}

util::Result<std::optional<std::string>> format_pgsql_result(const std::vector<PgsqlRow>& rows,
                                                             std::string_view result_format, std::string_view key,
                                                             unsigned expansion_limit) {
    std::string out;
    unsigned count = 0;
    for (const auto& row : rows) {
        for (const auto& field : row) {
            if (!field || field->empty()) continue;
            auto one = expand(result_format, *field, key, nullptr);
            if (!one) return std::unexpected(one.error());
            if (!*one) continue;
            if (expansion_limit > 0 && ++count > expansion_limit)
                return util::fail(fmt::format("{}: expansion limit exceeded ({} values)", key, expansion_limit));
            if (!out.empty()) out += ',';
            out += **one;
        }
    }
    if (out.empty()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(out));
}

}  // namespace kurir::mail
