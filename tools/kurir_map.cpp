// NAME
//   kurir-map - build or query a lookup table, as postmap(1)
// SYNOPSIS
//   kurir-map [-c config_dir] type:file ...
//   kurir-map [-c config_dir] -q key type:file ...
// DESCRIPTION
//   Builds file.db (Berkeley DB hash or btree) from "key value" lines, or
//   prints the value of key (exit 1 when it is not there). Keys are stored
//   lowercased with a trailing NUL, as Postfix stores them. A syntax error
//   names file:line and leaves the old table in place.
//
//   regexp:file (POSIX regular expressions) and pcre:file (PCRE2) tables
//   are read by the daemons from the file itself (regexp_table(5),
//   pcre_table(5) syntax); for them kurir-map only checks the file and
//   reports the first error as "file, line N: ...", and -q prints the
//   result of the first rule that matches the whole key.
//
//   pgsql:file.cf tables ask PostgreSQL (pgsql_table(5) parameters in
//   file.cf); kurir-map checks the file and -q runs the query for the key.
//   A server that cannot answer is an error (exit 70), not "not found".
#include "tools/table_tool.hpp"

int main(int argc, char** argv) { return kurir::tools::table_tool_main(argc, argv, kurir::tools::TableSyntax::map); }
