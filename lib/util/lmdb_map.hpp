// LMDB lookup tables (FILE.lmdb), as Postfix's postmap and postalias write
// them: one file (no subdirectory), keys lowercased, keys and values with a
// trailing NUL. A table is only ever replaced whole (written to a temp file
// and renamed into place), never changed where readers have it open, so
// readers and the writer open it without LMDB's lock file (MDB_NOLOCK):
// a daemon that may not write the table's directory still reads it.
#pragma once

#include "util/result.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::util {

class LmdbMap {
public:
    static Result<LmdbMap> open(const std::string& path);
    ~LmdbMap();
    LmdbMap(LmdbMap&&) noexcept;
    LmdbMap& operator=(LmdbMap&&) noexcept;
    // Looks the key up as given, then lowercased; keys stored with or
    // without the trailing NUL are found (Postfix's TRY1NULL, TRY0NULL).
    Result<std::optional<std::string>> lookup(std::string_view key) const;
    // Every key and value, in key order, without the trailing NULs.
    Result<std::vector<std::pair<std::string, std::string>>> entries() const;

private:
    struct Impl;
    explicit LmdbMap(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Writes path (the .lmdb file) from entries; later duplicates win.
Result<void> build_lmdb(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace kurir::util
