#include "util/db_map.hpp"
#include "util/table_libraries.hpp"
#include "util/text.hpp"

#include <db.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

namespace kurir::util {

struct DbMap::Impl {
    DB* db = nullptr;
    ~Impl() {
        if (db) db->close(db, 0);
    }
};

DbMap::DbMap(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DbMap::~DbMap() = default;
DbMap::DbMap(DbMap&&) noexcept = default;
DbMap& DbMap::operator=(DbMap&&) noexcept = default;

namespace {
DBTYPE db_type(DbType t) { return t == DbType::hash ? DB_HASH : DB_BTREE; }

}  // namespace

Result<DbMap> DbMap::open(const std::string& path, DbType type) {
    if (const auto& library = load_berkeley_db(); !library) return std::unexpected(library.error());
    auto impl = std::make_unique<Impl>();
    if (int rc = db_create(&impl->db, nullptr, 0); rc != 0) return fail("db_create: " + std::string(db_strerror(rc)));
    if (int rc = impl->db->open(impl->db, nullptr, path.c_str(), nullptr, db_type(type), DB_RDONLY, 0); rc != 0) {
        impl->db->close(impl->db, 0);
        impl->db = nullptr;
        return fail("open database " + path + ": " + db_strerror(rc));
    }
    return DbMap(std::move(impl));
}

Result<std::optional<std::string>> DbMap::lookup(std::string_view key) const {
    for (const std::string& k : {std::string(key), lowercase(key)}) {
        std::string with_nul = k + '\0';
        DBT dkey{}, dval{};
        dkey.data = with_nul.data();
        dkey.size = static_cast<u_int32_t>(with_nul.size());
        int rc = impl_->db->get(impl_->db, nullptr, &dkey, &dval, 0);
        if (rc == 0) {
            std::string v(static_cast<char*>(dval.data), dval.size);
            if (!v.empty() && v.back() == '\0') v.pop_back();
            return std::optional<std::string>(std::move(v));
        }
        if (rc != DB_NOTFOUND) return fail(std::string("database lookup: ") + db_strerror(rc));
    }
    return std::optional<std::string>();
}

Result<std::vector<std::pair<std::string, std::string>>> DbMap::entries() const {
    DBC* cur = nullptr;
    if (int rc = impl_->db->cursor(impl_->db, nullptr, &cur, 0); rc != 0)
        return fail(std::string("database read: ") + db_strerror(rc));
    auto unnul = [](const DBT& d) {
        std::string s(static_cast<char*>(d.data), d.size);
        if (!s.empty() && s.back() == '\0') s.pop_back();
        return s;
    };
    std::vector<std::pair<std::string, std::string>> out;
    DBT dkey{}, dval{};
    int rc;
    while ((rc = cur->get(cur, &dkey, &dval, DB_NEXT)) == 0) out.emplace_back(unnul(dkey), unnul(dval));
    cur->close(cur);
    if (rc != DB_NOTFOUND) return fail(std::string("database read: ") + db_strerror(rc));
    return out;
}

Result<void> build_db(const std::string& path, DbType type,
                      const std::vector<std::pair<std::string, std::string>>& entries) {
    if (const auto& library = load_berkeley_db(); !library) return std::unexpected(library.error());
    std::string tmp = path + ".tmp" + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    DB* db = nullptr;
    if (int rc = db_create(&db, nullptr, 0); rc != 0) return fail("db_create: " + std::string(db_strerror(rc)));
    if (int rc = db->open(db, nullptr, tmp.c_str(), nullptr, db_type(type), DB_CREATE | DB_EXCL, 0644); rc != 0) {
        db->close(db, 0);
        return fail("create database " + tmp + ": " + db_strerror(rc));
    }
    for (const auto& [key, value] : entries) {
        std::string k = lowercase(key) + '\0', v = value + '\0';
        DBT dkey{}, dval{};
        dkey.data = k.data();
        dkey.size = static_cast<u_int32_t>(k.size());
        dval.data = v.data();
        dval.size = static_cast<u_int32_t>(v.size());
        if (int rc = db->put(db, nullptr, &dkey, &dval, 0); rc != 0) {
            db->close(db, 0);
            ::unlink(tmp.c_str());
            return fail("write database " + tmp + ": " + db_strerror(rc));
        }
    }
    if (int rc = db->sync(db, 0); rc != 0) {
        db->close(db, 0);
        ::unlink(tmp.c_str());
        return fail("sync database " + tmp + ": " + db_strerror(rc));
    }
    db->close(db, 0);
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        return fail("rename " + tmp + " to " + path + ": " + why);
    }
    return {};
}

}  // namespace kurir::util
