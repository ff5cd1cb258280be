// NAME
//   kurir-alias - build or query the alias database, as postalias(1)
// SYNOPSIS
//   kurir-alias [-c config_dir] [-q key] [type:file ...]
// DESCRIPTION
//   Builds file.db from aliases(5) source ("name: value, value"), or prints
//   the value of an alias. Without files, builds $alias_database (this is
//   what newaliases and sendmail -bi run). A syntax error names file:line
//   and leaves the old table in place.
#include "tools/table_tool.hpp"

int main(int argc, char** argv) {
    return kurir::tools::table_tool_main(argc, argv, kurir::tools::TableSyntax::aliases);
}
