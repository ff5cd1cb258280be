// The lookup tables read whole into memory: texthash: (postmap's "key
// value" source, read as it is, no .db), static: (one value for every
// key: static:5000) and cidr: (Postfix's cidr_table(5): "network/prefix
// value" lines, IPv4 or IPv6, the first network that holds the key
// address wins; asked the whole client address only).
#pragma once

#include "util/cidr.hpp"
#include "util/result.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::mail {

class TextTable {
public:
    static util::Result<TextTable> load_texthash(const std::string& path);
    // The text of a texthash: file; errors name file:line.
    static util::Result<TextTable> parse_texthash(std::string_view text, const std::string& file);
    static TextTable static_value(std::string value);
    // inline:{...} (mail/inline_table): the first entry of a key wins.
    static TextTable from_entries(std::vector<std::pair<std::string, std::string>> entries);
    // Keys are found as given, then lowercased (as hash: tables).
    util::Result<std::optional<std::string>> lookup(std::string_view key) const;

private:
    std::optional<std::string> static_;
    std::map<std::string, std::string, std::less<>> entries_;
};

class CidrTable {
public:
    static util::Result<CidrTable> load(const std::string& path);
    // Errors name "FILE, line N".
    static util::Result<CidrTable> parse(std::string_view text, const std::string& file);
    util::Result<std::optional<std::string>> lookup(std::string_view key) const;

private:
    std::vector<std::pair<util::Cidr, std::string>> rules_;
};

}  // namespace kurir::mail
