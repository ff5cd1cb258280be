#include "test_util.hpp"
#include "util/db_map.hpp"
#include "virtual/virtual_service.hpp"

#include <catch2/catch.hpp>

using namespace kurir;

TEST_CASE("virtual: a table's mailbox path stays under virtual_mailbox_base", "[virtual]") {
    CHECK(virtual_::safe_mailbox_path("example.com/alice/"));
    CHECK(virtual_::safe_mailbox_path("example.com/bob.mbox"));
    CHECK(virtual_::safe_mailbox_path("a..b/c"));
    CHECK(!virtual_::safe_mailbox_path(""));
    CHECK(!virtual_::safe_mailbox_path("/etc/passwd"));
    CHECK(!virtual_::safe_mailbox_path("../x"));
    CHECK(!virtual_::safe_mailbox_path("a/../../x"));
    CHECK(!virtual_::safe_mailbox_path("a/.."));
    CHECK(!virtual_::safe_mailbox_path("a/b\nc"));
}

TEST_CASE("virtual: uid and gid maps answer with static:N or a table, in order", "[virtual]") {
    test::TempDir dir;
    REQUIRE(util::build_db(dir.path() + "/uids.db", util::DbType::hash,
                           {{"alice@v.test", "5001"}, {"@other.test", "5002"}, {"bad@v.test", "-1"}}));
    auto cfg = test::config_from("virtual_uid_maps = hash:" + dir.path() + "/uids static:5000\nvirtual_gid_maps = static:x\n");
    virtual_::IdMaps uids("virtual_uid_maps");
    CHECK(uids.find(cfg, {"alice@v.test", "@v.test"}).value() == 5001);
    CHECK(uids.find(cfg, {"zed@other.test", "@other.test"}).value() == 5002);
    CHECK(uids.find(cfg, {"carol@v.test", "@v.test"}).value() == 5000);
    CHECK(!uids.find(cfg, {"bad@v.test"}));
    virtual_::IdMaps gids("virtual_gid_maps");
    CHECK(!gids.find(cfg, {"alice@v.test"}));
    auto none = test::config_from("virtual_uid_maps = hash:" + dir.path() + "/uids\n");
    virtual_::IdMaps only_table("virtual_uid_maps");
    CHECK(!only_table.find(none, {"carol@v.test"}).value().has_value());
    auto missing = test::config_from("virtual_uid_maps = hash:" + dir.path() + "/missing static:5000\n");
    virtual_::IdMaps broken("virtual_uid_maps");
    CHECK(!broken.find(missing, {"carol@v.test"}));  // never past a table that cannot answer
}
