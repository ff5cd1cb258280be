// pgsql: tables (Postfix's pgsql_table(5)): "pgsql:/path/to/file.cf" names
// a file of connection parameters and a query (pgsql_cf.hpp); each lookup
// runs the query with the key escaped into it (pgsql_query.hpp) over one
// connection kept open between lookups. The connection is made at the first
// lookup, to the first of "hosts" that answers; a connection the server
// dropped (a restart) is made again and the query run once more. A lookup
// that cannot get an answer (no server answers, the query fails) is an
// error, which defers the mail: never "not found".
//
// libpq itself is loaded (dlopen) when the first pgsql: table is opened;
// a host without libpq.so.5 gets an error for the table, not a program that
// cannot start. Programs linked statically (sendmail, kurir-drop) get a version whose
// open() says the table type is not available there (pgsql_table_stub.cpp).
#pragma once

#include "mail/pgsql_cf.hpp"
#include "util/result.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace kurir::mail {

class PgsqlTable {
public:
    // Reads and checks the .cf file; does not connect yet.
    static util::Result<std::shared_ptr<PgsqlTable>> open(const std::string& path);
    PgsqlTable(std::string path, PgsqlCf cf);
    ~PgsqlTable();
    PgsqlTable(const PgsqlTable&) = delete;
    PgsqlTable& operator=(const PgsqlTable&) = delete;
    // Errors: "pgsql:/etc/kurir/users.cf: lookup KEY: WHY".
    util::Result<std::optional<std::string>> lookup(std::string_view key);

    struct Connection;  // libpq's, in pgsql_table.cpp

private:
    std::string path_;
    PgsqlCf cf_;
    std::unique_ptr<Connection> conn_;
};

}  // namespace kurir::mail
