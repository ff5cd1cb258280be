#include "util/lmdb_map.hpp"
#include "util/table_libraries.hpp"
#include "util/text.hpp"

#include <lmdb.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace kurir::util {

struct LmdbMap::Impl {
    MDB_env* env = nullptr;
    MDB_dbi dbi = 0;
    ~Impl() {
        if (env) mdb_env_close(env);
    }
};

LmdbMap::LmdbMap(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LmdbMap::~LmdbMap() = default;
LmdbMap::LmdbMap(LmdbMap&&) noexcept = default;
LmdbMap& LmdbMap::operator=(LmdbMap&&) noexcept = default;

namespace {

std::string unnul(const MDB_val& v) {
    std::string s(static_cast<const char*>(v.mv_data), v.mv_size);
    if (!s.empty() && s.back() == '\0') s.pop_back();
    return s;
}

// A read transaction aborted when it goes out of scope.
struct ReadTxn {
    MDB_txn* txn = nullptr;
    ~ReadTxn() {
        if (txn) mdb_txn_abort(txn);
    }
};

}  // namespace

Result<LmdbMap> LmdbMap::open(const std::string& path) {
    if (const auto& library = load_lmdb(); !library) return std::unexpected(library.error());
    auto impl = std::make_unique<Impl>();
    if (int rc = mdb_env_create(&impl->env); rc != 0) return fail("mdb_env_create: " + std::string(mdb_strerror(rc)));
    if (int rc = mdb_env_open(impl->env, path.c_str(), MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK | MDB_NORDAHEAD, 0644);
        rc != 0)
        return fail("open database " + path + ": " + mdb_strerror(rc));
    ReadTxn t;
    if (int rc = mdb_txn_begin(impl->env, nullptr, MDB_RDONLY, &t.txn); rc != 0)
        return fail("open database " + path + ": " + mdb_strerror(rc));
    if (int rc = mdb_dbi_open(t.txn, nullptr, 0, &impl->dbi); rc != 0)
        return fail("open database " + path + ": " + mdb_strerror(rc));
    return LmdbMap(std::move(impl));
}

Result<std::optional<std::string>> LmdbMap::lookup(std::string_view key) const {
    ReadTxn t;
    if (int rc = mdb_txn_begin(impl_->env, nullptr, MDB_RDONLY, &t.txn); rc != 0)
        return fail(std::string("database lookup: ") + mdb_strerror(rc));
    std::string as_given(key);
    std::string lowered = lowercase(key);
    for (const std::string* k : {&as_given, &lowered}) {
        if (k == &lowered && lowered == as_given) break;
        for (bool nul : {true, false}) {
            std::string want = nul ? *k + '\0' : *k;
            MDB_val dkey{want.size(), want.data()}, dval{};
            int rc = mdb_get(t.txn, impl_->dbi, &dkey, &dval);
            if (rc == 0) return std::optional<std::string>(unnul(dval));
            if (rc != MDB_NOTFOUND) return fail(std::string("database lookup: ") + mdb_strerror(rc));
        }
    }
    return std::optional<std::string>();
}

Result<std::vector<std::pair<std::string, std::string>>> LmdbMap::entries() const {
    ReadTxn t;
    if (int rc = mdb_txn_begin(impl_->env, nullptr, MDB_RDONLY, &t.txn); rc != 0)
        return fail(std::string("database read: ") + mdb_strerror(rc));
    MDB_cursor* cur = nullptr;
    if (int rc = mdb_cursor_open(t.txn, impl_->dbi, &cur); rc != 0)
        return fail(std::string("database read: ") + mdb_strerror(rc));
    std::vector<std::pair<std::string, std::string>> out;
    MDB_val k{}, v{};
    int rc;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) out.emplace_back(unnul(k), unnul(v));
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) return fail(std::string("database read: ") + mdb_strerror(rc));
    return out;
}

Result<void> build_lmdb(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
    if (const auto& library = load_lmdb(); !library) return std::unexpected(library.error());
    std::string tmp = path + ".tmp" + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    size_t bytes = 0;
    for (const auto& [k, v] : entries) bytes += k.size() + v.size() + 64;
    MDB_env* env = nullptr;
    if (int rc = mdb_env_create(&env); rc != 0) return fail("mdb_env_create: " + std::string(mdb_strerror(rc)));
    auto failed = [&](const std::string& what, int rc) {
        mdb_env_close(env);
        ::unlink(tmp.c_str());
        return fail(what + " " + tmp + ": " + mdb_strerror(rc));
    };
    // The map is address space, not file size: room for every entry four
    // times over (page overhead and copy-on-write), at least 16 MB.
    if (int rc = mdb_env_set_mapsize(env, std::max<size_t>(size_t{16} << 20, bytes * 4)); rc != 0)
        return failed("create database", rc);
    if (int rc = mdb_env_open(env, tmp.c_str(), MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC, 0644); rc != 0)
        return failed("create database", rc);
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env, nullptr, 0, &txn); rc != 0) return failed("write database", rc);
    MDB_dbi dbi = 0;
    if (int rc = mdb_dbi_open(txn, nullptr, 0, &dbi); rc != 0) {
        mdb_txn_abort(txn);
        return failed("write database", rc);
    }
    for (const auto& [key, value] : entries) {
        std::string k = lowercase(key) + '\0', v = value + '\0';
        MDB_val dkey{k.size(), k.data()}, dval{v.size(), v.data()};
        if (int rc = mdb_put(txn, dbi, &dkey, &dval, 0); rc != 0) {
            mdb_txn_abort(txn);
            return failed("write database", rc);
        }
    }
    if (int rc = mdb_txn_commit(txn); rc != 0) return failed("write database", rc);
    if (int rc = mdb_env_sync(env, 1); rc != 0) return failed("sync database", rc);
    mdb_env_close(env);
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        return fail("rename " + tmp + " to " + path + ": " + why);
    }
    return {};
}

}  // namespace kurir::util
