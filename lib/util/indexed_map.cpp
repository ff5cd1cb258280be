#include "util/indexed_map.hpp"

namespace kurir::util {

std::string indexed_file(const std::string& source, DbType type) {
    switch (type) {
        case DbType::lmdb: return source + ".lmdb";
        case DbType::cdb: return source + ".cdb";
        case DbType::hash:
        case DbType::btree: break;
    }
    return source + ".db";
}

const char* db_type_name(DbType type) {
    switch (type) {
        case DbType::hash: return "hash";
        case DbType::btree: return "btree";
        case DbType::lmdb: return "lmdb";
        case DbType::cdb: return "cdb";
    }
    return "hash";
}

Result<IndexedMap> IndexedMap::open(const std::string& source, DbType type) {
    std::string file = indexed_file(source, type);
    if (type == DbType::lmdb) {
        auto m = LmdbMap::open(file);
        if (!m) return std::unexpected(m.error());
        return IndexedMap(std::move(*m));
    }
    if (type == DbType::cdb) {
        auto m = CdbMap::open(file);
        if (!m) return std::unexpected(m.error());
        return IndexedMap(std::move(*m));
    }
    auto m = DbMap::open(file, type);
    if (!m) return std::unexpected(m.error());
    return IndexedMap(std::move(*m));
}

Result<std::optional<std::string>> IndexedMap::lookup(std::string_view key) const {
    return std::visit([&](const auto& m) { return m.lookup(key); }, map_);
}

Result<std::vector<std::pair<std::string, std::string>>> IndexedMap::entries() const {
    return std::visit([](const auto& m) { return m.entries(); }, map_);
}

Result<void> build_indexed(const std::string& source, DbType type,
                           const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string file = indexed_file(source, type);
    if (type == DbType::lmdb) return build_lmdb(file, entries);
    if (type == DbType::cdb) return build_cdb(file, entries);
    return build_db(file, type, entries);
}

}  // namespace kurir::util
