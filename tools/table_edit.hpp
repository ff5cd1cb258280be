// kurir-map's and kurir-alias's -s (dump), -d (delete) and -i (add from
// stdin) on the indexed tables (hash:, btree:, lmdb:; cdb: can be dumped
// only: a cdb file is never changed, as Postfix's postmap says). A change
// rewrites the whole table into a temp file and renames it into place, so
// running daemons see a new table (a new inode), never half of one.
#pragma once

#include "mail/maps.hpp"
#include "tools/table_tool.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kurir::tools {

// Prints every entry of each table: "key<TAB>value" (kurir-map, as
// postmap -s) or "key: value" (kurir-alias, as postalias -s).
int dump_tables(const char* prog, const std::vector<std::string>& tables, TableSyntax syntax);
// Removes key from each table; exit status 0 when one table had it, 1 when
// none did (postmap -d).
int remove_key(const char* prog, const std::vector<std::string>& tables, const std::string& key);
// Adds the entries of input (the source syntax) to each table, creating a
// table that does not exist yet (postmap -i).
int add_entries(const char* prog, const std::vector<std::string>& tables, TableSyntax syntax, std::string_view input);
// The owner of the source file owns its table (local runs alias commands
// with the table owner's rights, as Postfix does); root only.
void chown_table_like_source(const mail::MapSpec& spec);

}  // namespace kurir::tools
