// NAME
//   kurir-alias - build or query the alias database, as postalias(1)
// SYNOPSIS
//   kurir-alias [-c config_dir] [-q key | -d key | -s | -i] [type:file ...]
// DESCRIPTION
//   Builds file.db (hash:, btree:), file.lmdb (lmdb:) or file.cdb (cdb:)
//   from aliases(5) source ("name: value, value"); a file named without a
//   type is of $default_database_type. Without files, builds
//   $alias_database (this is what newaliases and sendmail -bi run). A syntax
//   error names file:line and leaves the old table in place. -q prints the
//   value of an alias; -s prints every alias as "name: value"; -d removes
//   one; -i adds aliases(5) lines read from stdin (not for cdb: tables).
#include "tools/table_tool.hpp"

int main(int argc, char** argv) {
    return kurir::tools::table_tool_main(argc, argv, kurir::tools::TableSyntax::aliases);
}
