// NAME
//   kurir-map - build or query a lookup table, as postmap(1)
// SYNOPSIS
//   kurir-map [-c config_dir] type:file ...
//   kurir-map [-c config_dir] -q key type:file ...
//   kurir-map [-c config_dir] -s type:file ...
//   kurir-map [-c config_dir] -d key type:file ...
//   kurir-map [-c config_dir] -i type:file ...
// DESCRIPTION
//   Builds an indexed table from "key value" lines: file.db for hash: and
//   btree: (Berkeley DB), file.lmdb for lmdb: (LMDB), file.cdb for cdb:
//   (tinycdb), the names Postfix gives them. A file named without a type is
//   of $default_database_type. Keys are stored lowercased with a trailing
//   NUL, as Postfix stores them. The new table is written aside and renamed
//   into place: running daemons read it at their next lookup, without
//   reload. A syntax error names file:line and leaves the old table in place.
//
//   -q key prints the value of key (exit 1 when it is not there); with key
//   "-", keys are read from stdin and "key<TAB>value" printed for each found.
//   -s prints every entry as "key<TAB>value". -d key removes key (exit 1
//   when no table had it). -i adds "key value" lines read from stdin to the
//   table, making it when it does not exist. A cdb: table is never changed
//   in place: -d and -i say "not supported", as postmap does.
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
