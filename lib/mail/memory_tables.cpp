#include "mail/memory_tables.hpp"

#include "mail/address.hpp"
#include "mail/maps.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

namespace kurir::mail {

util::Result<TextTable> TextTable::load_texthash(const std::string& path) {
    auto text = util::read_file(path);
    if (!text) return std::unexpected(text.error());
    return parse_texthash(*text, path);
}

util::Result<TextTable> TextTable::parse_texthash(std::string_view text, const std::string& file) {
    auto entries = parse_map_source(text, file);
    if (!entries) return std::unexpected(entries.error());
    TextTable t;
    // The first line for a key wins, as postmap keeps the first of duplicates.
    for (auto& [k, v] : *entries) t.entries_.emplace(lowercase(k), std::move(v));
    return t;
}

TextTable TextTable::from_entries(std::vector<std::pair<std::string, std::string>> entries) {
    TextTable t;
    for (auto& [k, v] : entries) t.entries_.emplace(lowercase(k), std::move(v));
    return t;
}

TextTable TextTable::static_value(std::string value) {
    TextTable t;
    t.static_ = std::move(value);
    return t;
}

util::Result<std::optional<std::string>> TextTable::lookup(std::string_view key) const {
    if (static_) return static_;
    auto it = entries_.find(key);
    if (it == entries_.end()) it = entries_.find(lowercase(key));
    if (it == entries_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
}

util::Result<CidrTable> CidrTable::load(const std::string& path) {
    auto text = util::read_file(path);
    if (!text) return std::unexpected(text.error());
    return parse(*text, path);
}

util::Result<CidrTable> CidrTable::parse(std::string_view text, const std::string& file) {
    CidrTable t;
    for (const auto& l : util::logical_lines(text)) {
        std::string_view line = l.text;
        if (line.empty() || line.front() == '#') continue;
        size_t sp = line.find_first_of(" \t");
        std::string_view net = line.substr(0, sp);
        std::string_view value = sp == std::string_view::npos ? std::string_view() : util::trim(line.substr(sp));
        auto where = [&](const std::string& what) { return util::fail(fmt::format("{}, line {}: {}", file, l.line, what)); };
        if (value.empty()) return where("missing result after \"" + std::string(net) + "\"");
        if (net.starts_with("!") || net == "if" || net == "endif")
            return where("\"" + std::string(net) + "\" is not supported in cidr: tables by kurir");
        auto cidr = util::parse_cidr(net);
        if (!cidr) return where(cidr.error().text);
        // A network with host bits set is an error, as in Postfix.
        util::Cidr masked = *cidr;
        for (int bit = cidr->prefix; bit < (cidr->family == AF_INET ? 32 : 128); ++bit)
            masked.addr[static_cast<size_t>(bit / 8)] &= static_cast<unsigned char>(~(0x80 >> (bit % 8)));
        if (masked.addr != cidr->addr) return where("non-null host address bits in \"" + std::string(net) + "\"");
        t.rules_.emplace_back(*cidr, std::string(value));
    }
    return t;
}

util::Result<std::optional<std::string>> CidrTable::lookup(std::string_view key) const {
    for (const auto& [net, value] : rules_)
        if (util::cidr_match(net, key)) return std::optional<std::string>(value);
    return std::optional<std::string>();
}

}  // namespace kurir::mail
