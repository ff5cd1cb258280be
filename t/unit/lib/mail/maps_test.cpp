#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "test_util.hpp"
#include "util/db_map.hpp"

#include <catch2/catch.hpp>

using namespace kurir;

TEST_CASE("postmap source: key and value, continuation lines, comments, errors with file:line") {
    auto e = mail::parse_map_source("# comment\nexample.com   smtp:[127.0.0.1]:2526\nlong  first\n  second\n\n",
                                    "/etc/t");
    REQUIRE(e);
    REQUIRE(e->size() == 2);
    CHECK((*e)[0] == std::pair<std::string, std::string>{"example.com", "smtp:[127.0.0.1]:2526"});
    CHECK((*e)[1].second == "first second");
    auto bad = mail::parse_map_source("ok value\nlonely\n", "/etc/t");
    REQUIRE(!bad);
    CHECK(bad.error().text.find("/etc/t:2:") != std::string::npos);
    CHECK(!mail::parse_map_source(std::string("a b\0", 4), "/etc/t"));
}

TEST_CASE("aliases source: names, quoted names, continued values, errors") {
    auto e = mail::parse_aliases_source("postmaster: root\n\"odd name\": a, b\nteam: amy,\n  bob\n", "/etc/aliases");
    REQUIRE(e);
    REQUIRE(e->size() == 3);
    CHECK((*e)[1].first == "odd name");
    CHECK((*e)[2].second == "amy, bob");
    for (const char* bad : {"no colon here\n", "name:\n", "bad name: x\n", "\"open: x\n"}) {
        auto r = mail::parse_aliases_source(bad, "/etc/aliases");
        CHECK(!r);
        if (!r) CHECK(r.error().text.find("/etc/aliases:1:") != std::string::npos);
    }
}

TEST_CASE("alias values split at commas outside quotes") {
    auto items = mail::split_alias_value(R"(amy, "|/bin/cmd a,b", /var/log/x, :include:/etc/list,\bob)");
    REQUIRE(items.size() == 5);
    CHECK(items[1] == "|/bin/cmd a,b");
    CHECK(items[3] == ":include:/etc/list");
    CHECK(items[4] == "\\bob");
    CHECK(mail::split_alias_value(" , ,").empty());
}

TEST_CASE("table specs and Berkeley DB tables round-trip, keys case-insensitive") {
    CHECK(mail::parse_map_spec("hash:/etc/aliases")->path == "/etc/aliases");
    CHECK(mail::parse_map_spec("btree:/x")->type == util::DbType::btree);
    CHECK(mail::parse_map_spec("lmdb:/x")->table_file() == "/x.lmdb");
    CHECK(mail::parse_map_spec("cdb:/x")->table_file() == "/x.cdb");
    CHECK(!mail::parse_map_spec("nosuch:/x"));
    CHECK(mail::parse_map_spec("regexp:/x"));
    CHECK(!mail::parse_map_spec("hash:relative"));
    CHECK(!mail::parse_map_spec("nocolon"));
    test::TempDir dir;
    std::string src = dir.path() + "/aliases";
    REQUIRE(util::build_db(src + ".db", util::DbType::hash, {{"Root", "admin"}, {"x", "1"}, {"x", "2"}}));
    auto maps = mail::MapList::open({"hash:" + src, "hash:" + dir.path() + "/missing"});
    REQUIRE(maps);
    CHECK(maps->warnings().size() == 1);
    CHECK(maps->lookup("root").value() == std::optional<std::string>("admin"));
    CHECK(maps->lookup("ROOT").value() == std::optional<std::string>("admin"));
    CHECK(maps->lookup("x").value() == std::optional<std::string>("2"));
    CHECK(!maps->lookup("nobody").value());
}

TEST_CASE("a watched list that cannot be opened warns, so its users defer instead of reading \"not found\"") {
    test::TempDir dir;
    auto cfg = *mail::Config::from_text("", dir.path());
    mail::WatchedMaps watched("check_client_access", {"nosuch:" + (dir / "clients")});
    const auto& maps = watched.get(cfg);
    REQUIRE(maps.warnings().size() == 1);
    CHECK(maps.warnings()[0].find("unsupported table type \"nosuch\"") != std::string::npos);
}
