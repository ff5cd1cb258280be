// The pure half of a pgsql: lookup, as Postfix's db_common: a key expanded
// into the query (every piece of the key through the escaper, so a key can
// never change the SQL), the key checked against "domain", and the result
// rows turned into one comma-joined value through result_format.
//
// Expansions, in query and in result_format:
//   %%  a "%"
//   %s  the key (in result_format: the result value)
//   %u  the local part of user@domain; the whole key (value) without "@"
//   %d  the domain of user@domain; without "@" the query is suppressed
//       (in result_format: that value is left out)
//   %S %U %D  the same of the key, in result_format too
//   %1..%9  the components of the key's domain from the right: %1 "com"
//       of user@mail.example.com; too few components suppress the query
// An empty local part suppresses a %u expansion likewise.
#pragma once

#include "util/result.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

// Whether text is a valid template: every "%" followed by one of
// "%sudSUD123456789". Errors quote the bad sequence.
util::Result<void> check_pgsql_template(std::string_view text);

// Whether the key may be looked up under "domain" (empty list: any key):
// a key user@domain with a non-empty user and the domain in the list.
bool pgsql_domain_allows(const std::vector<std::string>& domains, std::string_view key);

using SqlEscaper = std::function<util::Result<std::string>(std::string_view)>;
// The query for a key, or nullopt when the key cannot fill it (no lookup,
// "not found"). An escaper error (bad encoding) is an error.
util::Result<std::optional<std::string>> expand_pgsql_query(std::string_view query, std::string_view key,
                                                            const SqlEscaper& escape);

// A result field; nullopt is SQL NULL.
using PgsqlRow = std::vector<std::optional<std::string>>;
// Every non-NULL, non-empty field of every row through result_format,
// joined with ","; nullopt when nothing is left ("not found"). More values
// than expansion_limit (0: no limit) is an error.
util::Result<std::optional<std::string>> format_pgsql_result(const std::vector<PgsqlRow>& rows,
                                                             std::string_view result_format, std::string_view key,
                                                             unsigned expansion_limit);

}  // namespace kurir::mail
