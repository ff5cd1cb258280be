#include "mail/inline_table.hpp"

#include "mail/address.hpp"
#include "util/text.hpp"

namespace kurir::mail {

util::Result<std::vector<std::string>> split_braced_list(std::string_view group, const std::string& what) {
    group = util::trim(group);
    if (group.size() < 2 || group.front() != '{' || group.back() != '}')
        return util::fail(what + ": syntax error: want \"{ item, item, ... }\"");
    std::string_view inner = group.substr(1, group.size() - 2);
    std::vector<std::string> out;
    std::string cur;
    int depth = 0;
    for (char c : inner) {
        if (c == '{') ++depth;
        if (c == '}' && --depth < 0) return util::fail(what + ": syntax error: unbalanced '}'");
        if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (depth != 0) return util::fail(what + ": syntax error: missing '}'");
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

util::Result<std::vector<std::pair<std::string, std::string>>> parse_inline_table(std::string_view body) {
    std::string what = "inline:" + std::string(body);
    auto items = split_braced_list(body, what);
    if (!items) return std::unexpected(items.error());
    if (items->empty()) return util::fail(what + ": empty table");
    std::vector<std::pair<std::string, std::string>> out;
    for (std::string_view item : *items) {
        if (item.front() == '{') {
            if (item.back() != '}') return util::fail(what + ": syntax error: missing '}' in \"" + std::string(item) + "\"");
            item = item.substr(1, item.size() - 2);
        }
        size_t eq = item.find('=');
        std::string_view key = util::trim(item.substr(0, eq));
        if (eq == std::string_view::npos || key.empty())
            return util::fail(what + ": \"" + std::string(util::trim(item)) + "\": missing '=' after attribute name");
        out.emplace_back(lowercase(key), std::string(util::trim(item.substr(eq + 1))));
    }
    return out;
}

}  // namespace kurir::mail
