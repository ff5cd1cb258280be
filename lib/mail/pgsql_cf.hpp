// The .cf file of a pgsql: table (Postfix's pgsql_table(5)), as a pure
// parser: main.cf syntax ("name = value", continuation lines, "#"
// comments), the parameters below, nothing else.
//
//   hosts            where the database is, tried in order (default
//                    localhost): "host", "host:port", "inet:host",
//                    "inet:host:port", "unix:/socket/directory" or a
//                    "postgresql://..." URI handed to libpq as it is
//   user, password, dbname
//   query            the SQL, with %s %u %d %S %U %D %1..%9 %% (see
//                    pgsql_query.hpp); required
//   result_format    each result value through this (default %s)
//   domain           only keys user@DOMAIN with DOMAIN in this list are
//                    looked up (names, comma or space separated)
//   expansion_limit  more result values than this is an error (0: no limit)
//   encoding         the client encoding (default UTF8)
//   connect_timeout  seconds per host connection attempt (libpq's
//                    connect_timeout; default 10)
// Postfix's legacy table/select_field/where_field form is not supported.
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

struct PgsqlHost {
    enum class Kind { inet, unix_socket, uri } kind = Kind::inet;
    std::string host;  // name or address, socket directory, or the URI
    std::string port;  // empty: libpq's default (5432)
    bool operator==(const PgsqlHost&) const = default;
};

struct PgsqlCf {
    std::vector<PgsqlHost> hosts;
    std::string user;
    std::string password;
    std::string dbname;
    std::string query;
    std::string result_format = "%s";
    std::vector<std::string> domains;  // lowercased
    unsigned expansion_limit = 0;
    std::string encoding = "UTF8";
    unsigned connect_timeout = 10;
};

// One entry of "hosts".
util::Result<PgsqlHost> parse_pgsql_host(std::string_view text);
// Errors name the file and line, or the file and the parameter:
// "/etc/kurir/users.cf: query: invalid % sequence \"%x\"".
util::Result<PgsqlCf> parse_pgsql_cf(std::string_view text, const std::string& file);

}  // namespace kurir::mail
