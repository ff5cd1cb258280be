// CDB lookup tables (FILE.cdb, tinycdb), as Postfix's postmap and postalias
// write them: keys lowercased, keys and values with a trailing NUL. A cdb
// file is written once and never changed: building writes a temp file and
// renames it into place; there is no delete or update in place.
#pragma once

#include "util/result.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::util {

class CdbMap {
public:
    static Result<CdbMap> open(const std::string& path);
    ~CdbMap();
    CdbMap(CdbMap&&) noexcept;
    CdbMap& operator=(CdbMap&&) noexcept;
    // Looks the key up as given, then lowercased; keys stored with or
    // without the trailing NUL are found.
    Result<std::optional<std::string>> lookup(std::string_view key) const;
    // Every key and value, in file order, without the trailing NULs.
    Result<std::vector<std::pair<std::string, std::string>>> entries() const;

private:
    struct Impl;
    explicit CdbMap(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Writes path (the .cdb file) from entries; later duplicates win.
Result<void> build_cdb(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace kurir::util
