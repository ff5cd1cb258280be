// Berkeley DB lookup tables (hash and btree), as Postfix's postmap and
// postalias write them: keys and values are stored with a trailing NUL, keys
// lowercased. Building writes a temp file and renames it into place, so a
// reader never sees half a table.
#pragma once

#include "util/result.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::util {

// hash and btree are Berkeley DB (DbMap); lmdb (LmdbMap) and cdb (CdbMap)
// are read through util/indexed_map.
enum class DbType { hash, btree, lmdb, cdb };

class DbMap {
public:
    static Result<DbMap> open(const std::string& path, DbType type);
    ~DbMap();
    DbMap(DbMap&&) noexcept;
    DbMap& operator=(DbMap&&) noexcept;
    // Looks the key up as given, then lowercased.
    Result<std::optional<std::string>> lookup(std::string_view key) const;
    // Every key and value, without the trailing NULs.
    Result<std::vector<std::pair<std::string, std::string>>> entries() const;

private:
    struct Impl;
    explicit DbMap(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Writes path (the .db file) from entries; later duplicates win, as postmap's.
Result<void> build_db(const std::string& path, DbType type,
                      const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace kurir::util
