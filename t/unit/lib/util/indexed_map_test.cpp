#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "test_util.hpp"
#include "util/fs.hpp"
#include "util/indexed_map.hpp"

#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <lmdb.h>

#include <algorithm>

using namespace kurir;

namespace {
using Entries = std::vector<std::pair<std::string, std::string>>;
const util::DbType kAllTypes[] = {util::DbType::hash, util::DbType::btree, util::DbType::lmdb, util::DbType::cdb};
}  // namespace

TEST_CASE("indexed tables are named as postmap names them", "[tables]") {
    CHECK(util::indexed_file("/etc/x", util::DbType::hash) == "/etc/x.db");
    CHECK(util::indexed_file("/etc/x", util::DbType::btree) == "/etc/x.db");
    CHECK(util::indexed_file("/etc/x", util::DbType::lmdb) == "/etc/x.lmdb");
    CHECK(util::indexed_file("/etc/x", util::DbType::cdb) == "/etc/x.cdb");
}

TEST_CASE("every indexed type: lookups fold case, later duplicates win, entries dump", "[tables]") {
    for (auto type : kAllTypes) {
        INFO(util::db_type_name(type));
        test::TempDir dir;
        std::string src = dir / "t";
        REQUIRE(util::build_indexed(src, type, {{"Root", "admin"}, {"x", "1"}, {"x", "2"}, {"sp", "a b"}}));
        CHECK(util::exists(util::indexed_file(src, type)));
        auto m = util::IndexedMap::open(src, type);
        REQUIRE(m);
        CHECK(m->lookup("root").value() == std::optional<std::string>("admin"));
        CHECK(m->lookup("ROOT").value() == std::optional<std::string>("admin"));
        CHECK(m->lookup("x").value() == std::optional<std::string>("2"));
        CHECK(m->lookup("sp").value() == std::optional<std::string>("a b"));
        CHECK(!m->lookup("nobody").value());
        auto all = m->entries();
        REQUIRE(all);
        std::sort(all->begin(), all->end());
        CHECK(*all == Entries{{"root", "admin"}, {"sp", "a b"}, {"x", "2"}});

        // Through the map list, as the daemons read it.
        auto maps = mail::MapList::open({std::string(util::db_type_name(type)) + ":" + src});
        REQUIRE(maps);
        CHECK(maps->warnings().empty());
        CHECK(maps->lookup_partial("Root").value() == std::optional<std::string>("admin"));
    }
}

TEST_CASE("a missing or foreign indexed table is an error naming the file", "[tables]") {
    test::TempDir dir;
    for (auto type : kAllTypes) {
        INFO(util::db_type_name(type));
        auto m = util::IndexedMap::open(dir / "missing", type);
        REQUIRE(!m);
        CHECK(m.error().text.find(util::indexed_file(dir / "missing", type)) != std::string::npos);
    }
    REQUIRE(util::write_file_durable(dir.path(), "junk.lmdb", std::string(100, 'x'), 0644));
    REQUIRE(util::write_file_durable(dir.path(), "junk.cdb", "xy", 0644));
    auto l = util::IndexedMap::open(dir / "junk", util::DbType::lmdb);
    CHECK(!l);
    if (!l) CHECK(l.error().text.find("junk.lmdb") != std::string::npos);
    auto c = util::IndexedMap::open(dir / "junk", util::DbType::cdb);
    CHECK(!c);
    if (!c) CHECK(c.error().text.find("junk.cdb: not a cdb file") != std::string::npos);
}

TEST_CASE("lmdb: keys and values are stored lowercased with a trailing NUL, as Postfix's postmap", "[tables]") {
    test::TempDir dir;
    REQUIRE(util::build_indexed(dir / "t", util::DbType::lmdb, {{"Foo", "Bar"}}));
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_open(env, (dir / "t.lmdb").c_str(), MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0644) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0);
    MDB_dbi dbi = 0;
    REQUIRE(mdb_dbi_open(txn, nullptr, 0, &dbi) == 0);
    std::string key("foo\0", 4);
    MDB_val k{key.size(), key.data()}, v{};
    REQUIRE(mdb_get(txn, dbi, &k, &v) == 0);
    CHECK(std::string(static_cast<char*>(v.mv_data), v.mv_size) == std::string("Bar\0", 4));
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

TEST_CASE("a watched lmdb: or cdb: table rebuilt on disk is read again without reload", "[tables]") {
    for (auto type : {util::DbType::lmdb, util::DbType::cdb}) {
        INFO(util::db_type_name(type));
        test::TempDir dir;
        std::string src = dir / "transport";
        auto cfg = *mail::Config::from_text(fmt::format("transport_maps = {}:{}\n", util::db_type_name(type), src),
                                            dir.path());
        REQUIRE(util::build_indexed(src, type, {{"a.test", "smtp:[192.0.2.1]"}}));
        mail::WatchedMaps watched("transport_maps");
        CHECK(watched.get(cfg).lookup("a.test").value() == std::optional<std::string>("smtp:[192.0.2.1]"));
        REQUIRE(util::build_indexed(src, type, {{"a.test", "smtp:[192.0.2.2]"}}));
        CHECK(watched.get(cfg).lookup("a.test").value() == std::optional<std::string>("smtp:[192.0.2.2]"));
    }
}
