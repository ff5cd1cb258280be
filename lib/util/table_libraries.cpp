#include "util/table_libraries.hpp"

#include "util/dl_library.hpp"
#include "util/log.hpp"

// The forwarders below are this program's own: hidden, so that a library
// loaded with the program never calls them in place of its own functions.
#pragma GCC visibility push(hidden)
#include <cdb.h>
#include <db.h>
#include <lmdb.h>

namespace kurir::util {
namespace {

// The functions the table code calls, per library.
#define KURIR_BERKELEY_DB(X) X(db_create) X(db_strerror)
#define KURIR_LMDB(X)                                                                                                  \
    X(mdb_cursor_close)                                                                                                \
    X(mdb_cursor_get)                                                                                                  \
    X(mdb_cursor_open)                                                                                                 \
    X(mdb_dbi_open)                                                                                                    \
    X(mdb_env_close)                                                                                                   \
    X(mdb_env_create)                                                                                                  \
    X(mdb_env_open)                                                                                                    \
    X(mdb_env_set_mapsize)                                                                                             \
    X(mdb_env_sync)                                                                                                    \
    X(mdb_get)                                                                                                         \
    X(mdb_put)                                                                                                         \
    X(mdb_strerror)                                                                                                    \
    X(mdb_txn_abort)                                                                                                   \
    X(mdb_txn_begin)                                                                                                   \
    X(mdb_txn_commit)
#define KURIR_CDB(X)                                                                                                   \
    X(cdb_find)                                                                                                        \
    X(cdb_free)                                                                                                        \
    X(cdb_init)                                                                                                        \
    X(cdb_make_add)                                                                                                    \
    X(cdb_make_finish)                                                                                                 \
    X(cdb_make_start)                                                                                                  \
    X(cdb_read)                                                                                                        \
    X(cdb_seqnext)

#define KURIR_MEMBER(name) decltype(&::name) name = nullptr;
struct BerkeleyDb {
    KURIR_BERKELEY_DB(KURIR_MEMBER)
};
struct Lmdb {
    KURIR_LMDB(KURIR_MEMBER)
};
struct Cdb {
    KURIR_CDB(KURIR_MEMBER)
};
#undef KURIR_MEMBER

#define KURIR_BIND(name) bind(f.name, #name);
// Never destroyed: a table a static holds is closed through them at exit.
const LoadedLibrary<BerkeleyDb>& berkeley_db() {
    static const auto* once = new LoadedLibrary<BerkeleyDb>(
        load_library<BerkeleyDb>("libdb-5.3.so", [](BerkeleyDb& f, auto bind) { KURIR_BERKELEY_DB(KURIR_BIND) }));
    return *once;
}
const LoadedLibrary<Lmdb>& lmdb() {
    static const auto* once =
        new LoadedLibrary<Lmdb>(load_library<Lmdb>("liblmdb.so.0", [](Lmdb& f, auto bind) { KURIR_LMDB(KURIR_BIND) }));
    return *once;
}
const LoadedLibrary<Cdb>& cdb() {
    static const auto* once = new LoadedLibrary<Cdb>(load_library<Cdb>("libcdb.so.1", [](Cdb& f, auto bind) { KURIR_CDB(KURIR_BIND) }));
    return *once;
}
#undef KURIR_BIND

template <typename Functions>
const Functions& loaded_or_fatal(const LoadedLibrary<Functions>& l) {
    if (!l.status) msg_fatal("tables: {}", l.status.error().text);
    return l.functions;
}

}  // namespace

const Result<void>& load_berkeley_db() { return berkeley_db().status; }
const Result<void>& load_lmdb() { return lmdb().status; }
const Result<void>& load_cdb() { return cdb().status; }

}  // namespace kurir::util

namespace {
const kurir::util::BerkeleyDb& db_library() { return kurir::util::loaded_or_fatal(kurir::util::berkeley_db()); }
const kurir::util::Lmdb& lmdb_library() { return kurir::util::loaded_or_fatal(kurir::util::lmdb()); }
const kurir::util::Cdb& cdb_library() { return kurir::util::loaded_or_fatal(kurir::util::cdb()); }
}  // namespace

// The forwarders, with the libraries' own declarations: a signature that
// differs from the header's does not compile.
extern "C" {
int db_create(DB** dbp, DB_ENV* env, u_int32_t flags) { return db_library().db_create(dbp, env, flags); }
char* db_strerror(int error) { return db_library().db_strerror(error); }

void mdb_cursor_close(MDB_cursor* cursor) { lmdb_library().mdb_cursor_close(cursor); }
int mdb_cursor_get(MDB_cursor* cursor, MDB_val* key, MDB_val* data, MDB_cursor_op op) {
    return lmdb_library().mdb_cursor_get(cursor, key, data, op);
}
int mdb_cursor_open(MDB_txn* txn, MDB_dbi dbi, MDB_cursor** cursor) {
    return lmdb_library().mdb_cursor_open(txn, dbi, cursor);
}
int mdb_dbi_open(MDB_txn* txn, const char* name, unsigned int flags, MDB_dbi* dbi) {
    return lmdb_library().mdb_dbi_open(txn, name, flags, dbi);
}
void mdb_env_close(MDB_env* env) { lmdb_library().mdb_env_close(env); }
int mdb_env_create(MDB_env** env) { return lmdb_library().mdb_env_create(env); }
int mdb_env_open(MDB_env* env, const char* path, unsigned int flags, mdb_mode_t mode) {
    return lmdb_library().mdb_env_open(env, path, flags, mode);
}
int mdb_env_set_mapsize(MDB_env* env, size_t size) { return lmdb_library().mdb_env_set_mapsize(env, size); }
int mdb_env_sync(MDB_env* env, int force) { return lmdb_library().mdb_env_sync(env, force); }
int mdb_get(MDB_txn* txn, MDB_dbi dbi, MDB_val* key, MDB_val* data) {
    return lmdb_library().mdb_get(txn, dbi, key, data);
}
int mdb_put(MDB_txn* txn, MDB_dbi dbi, MDB_val* key, MDB_val* data, unsigned int flags) {
    return lmdb_library().mdb_put(txn, dbi, key, data, flags);
}
char* mdb_strerror(int err) { return lmdb_library().mdb_strerror(err); }
void mdb_txn_abort(MDB_txn* txn) { lmdb_library().mdb_txn_abort(txn); }
int mdb_txn_begin(MDB_env* env, MDB_txn* parent, unsigned int flags, MDB_txn** txn) {
    return lmdb_library().mdb_txn_begin(env, parent, flags, txn);
}
int mdb_txn_commit(MDB_txn* txn) { return lmdb_library().mdb_txn_commit(txn); }

int cdb_find(struct cdb* cdbp, const void* key, unsigned klen) { return cdb_library().cdb_find(cdbp, key, klen); }
void cdb_free(struct cdb* cdbp) { cdb_library().cdb_free(cdbp); }
int cdb_init(struct cdb* cdbp, int fd) { return cdb_library().cdb_init(cdbp, fd); }
int cdb_make_add(struct cdb_make* cdbmp, const void* key, unsigned klen, const void* val, unsigned vlen) {
    return cdb_library().cdb_make_add(cdbmp, key, klen, val, vlen);
}
int cdb_make_finish(struct cdb_make* cdbmp) { return cdb_library().cdb_make_finish(cdbmp); }
int cdb_make_start(struct cdb_make* cdbmp, int fd) { return cdb_library().cdb_make_start(cdbmp, fd); }
int cdb_read(const struct cdb* cdbp, void* buf, unsigned len, unsigned pos) {
    return cdb_library().cdb_read(cdbp, buf, len, pos);
}
int cdb_seqnext(unsigned* cptr, struct cdb* cdbp) { return cdb_library().cdb_seqnext(cptr, cdbp); }
}
#pragma GCC visibility pop
