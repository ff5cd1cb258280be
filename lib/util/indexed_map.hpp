// The indexed lookup tables behind one face: hash: and btree: (Berkeley
// DB, FILE.db), lmdb: (FILE.lmdb) and cdb: (FILE.cdb), Postfix's file
// naming. Every build writes a temp file and renames it into place, so a
// reader never sees half a table and a running daemon sees a new inode.
#pragma once

#include "util/cdb_map.hpp"
#include "util/db_map.hpp"
#include "util/lmdb_map.hpp"
#include "util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kurir::util {

// The file postmap makes of source for a type: "/x" -> "/x.db", "/x.lmdb",
// "/x.cdb".
std::string indexed_file(const std::string& source, DbType type);
const char* db_type_name(DbType type);

class IndexedMap {
public:
    // Opens indexed_file(source, type).
    static Result<IndexedMap> open(const std::string& source, DbType type);
    Result<std::optional<std::string>> lookup(std::string_view key) const;
    Result<std::vector<std::pair<std::string, std::string>>> entries() const;

private:
    explicit IndexedMap(std::variant<DbMap, LmdbMap, CdbMap> map) : map_(std::move(map)) {}
    std::variant<DbMap, LmdbMap, CdbMap> map_;
};

// Writes indexed_file(source, type) from entries; later duplicates win.
Result<void> build_indexed(const std::string& source, DbType type,
                           const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace kurir::util
