// pgsql: tables in the statically linked programs (sendmail, kurir-drop),
// which do not link libpq: opening one is an error.
#include "mail/pgsql_table.hpp"

namespace kurir::mail {

struct PgsqlTable::Connection {};

util::Result<std::shared_ptr<PgsqlTable>> PgsqlTable::open(const std::string& path) {
    return util::fail("pgsql:" + path + ": pgsql tables are not available in this program");
}

PgsqlTable::PgsqlTable(std::string path, PgsqlCf cf) : path_(std::move(path)), cf_(std::move(cf)) {}
PgsqlTable::~PgsqlTable() = default;

util::Result<std::optional<std::string>> PgsqlTable::lookup(std::string_view) {
    return util::fail("pgsql:" + path_ + ": pgsql tables are not available in this program");
}

}  // namespace kurir::mail
