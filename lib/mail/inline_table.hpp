// inline: tables, Postfix's dict_inline: the table in the parameter value,
//   inline:{ key=value, { key = text with spaces }, ... }
// Items are separated by commas or whitespace outside braces; an item in
// braces may have spaces around "=" and in its value. Keys are lowercased.
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::mail {

// The items of a "{ ... }" group (the braces included), split at commas
// and whitespace outside inner braces; an item "{x}" keeps its braces.
// Errors name what: a missing or unbalanced brace.
util::Result<std::vector<std::string>> split_braced_list(std::string_view group, const std::string& what);

// body is what follows "inline:", braces included; errors name
// "inline:{...}" as Postfix does ("... missing '=' after attribute name").
util::Result<std::vector<std::pair<std::string, std::string>>> parse_inline_table(std::string_view body);

}  // namespace kurir::mail
