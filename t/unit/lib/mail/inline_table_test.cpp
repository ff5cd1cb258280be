#include "mail/config.hpp"
#include "mail/inline_table.hpp"
#include "mail/maps.hpp"
#include "test_util.hpp"
#include "util/indexed_map.hpp"

#include <catch2/catch.hpp>

using namespace kurir;

namespace {
std::optional<std::string> ask(const mail::MapList& m, std::string_view key) { return m.lookup(key).value(); }
}  // namespace

TEST_CASE("list parameters split outside braces, as Postfix's mystrtokq", "[tables]") {
    CHECK(mail::split_list("inline:{a=b, c=d}, hash:/x") == std::vector<std::string>{"inline:{a=b, c=d}", "hash:/x"});
    CHECK(mail::split_list("unionmap:{inline:{a=1}, inline:{ {b = two words} }} static:x") ==
          std::vector<std::string>{"unionmap:{inline:{a=1}, inline:{ {b = two words} }}", "static:x"});
    CHECK(mail::split_list("a, b c") == std::vector<std::string>{"a", "b", "c"});
    auto cfg = test::config_from("transport_maps = inline:{example.com=smtp:[192.0.2.1], x.test=error:no}, hash:/x\n");
    CHECK(cfg.list("transport_maps").size() == 2);
}

TEST_CASE("inline: key=value items, braced items with spaces, keys folded", "[tables]") {
    auto e = mail::parse_inline_table("{ Key=value, other=x=y, { spaced = text with spaces } }");
    REQUIRE(e);
    REQUIRE(e->size() == 3);
    CHECK((*e)[0] == std::pair<std::string, std::string>{"key", "value"});
    CHECK((*e)[1] == std::pair<std::string, std::string>{"other", "x=y"});
    CHECK((*e)[2] == std::pair<std::string, std::string>{"spaced", "text with spaces"});

    auto maps = mail::MapList::open({"inline:{ Key=value, { spaced = text with spaces } }"});
    REQUIRE(maps);
    CHECK(ask(*maps, "KEY") == std::optional<std::string>("value"));
    CHECK(ask(*maps, "spaced") == std::optional<std::string>("text with spaces"));
    CHECK(!ask(*maps, "nope"));
    CHECK(maps->lookup_partial("key").value() == std::optional<std::string>("value"));
    CHECK(mail::parse_map_spec("inline:{a=b}")->table_file().empty());
}

TEST_CASE("inline: syntax errors name the table", "[tables]") {
    for (const char* bad : {"a=b", "{a=b", "{a=b}}", "{ novalue }", "{ {a b} }", "{ =x }", "{}", "{ {a=b }"}) {
        INFO(bad);
        auto e = mail::parse_inline_table(bad);
        REQUIRE(!e);
        CHECK(e.error().text.starts_with("inline:" + std::string(bad) + ": "));
        CHECK(!mail::parse_map_spec(std::string("inline:") + bad));
    }
    CHECK(mail::parse_inline_table("{ novalue }").error().text.find("missing '=' after attribute name") !=
          std::string::npos);
}

TEST_CASE("unionmap: joins every table's result with commas; pipemap: feeds each result on", "[tables]") {
    test::TempDir dir;
    REQUIRE(util::build_indexed(dir / "aliases", util::DbType::lmdb, {{"team", "amy"}, {"amy", "amy@mx.test"}}));
    std::string lmdb = "lmdb:" + (dir / "aliases");
    auto u = mail::MapList::open({"unionmap:{" + lmdb + ", inline:{team=bob, x=1}, inline:{team=carl}}"});
    REQUIRE(u);
    CHECK(u->warnings().empty());
    CHECK(ask(*u, "TEAM") == std::optional<std::string>("amy,bob,carl"));
    CHECK(ask(*u, "x") == std::optional<std::string>("1"));
    CHECK(!ask(*u, "nobody"));

    auto p = mail::MapList::open({"pipemap:{inline:{boss=team}, " + lmdb + ", " + lmdb + "}"});
    REQUIRE(p);
    CHECK(ask(*p, "boss") == std::optional<std::string>("amy@mx.test"));
    CHECK(!ask(*p, "team"));  // team -> amy -> amy@mx.test -> not found in the last table

    // A member that cannot be opened is an error, never "not found".
    auto missing = mail::MapList::open({"unionmap:{inline:{a=b}, lmdb:" + (dir / "missing") + "}"});
    REQUIRE(missing);
    REQUIRE(missing->warnings().size() == 1);
    CHECK(missing->warnings()[0].starts_with("unionmap:{"));
    CHECK(!mail::parse_map_spec("unionmap:{inline:{a=b}, nosuch:/x}"));
    CHECK(!mail::parse_map_spec("pipemap:inline:{a=b}"));
}

TEST_CASE("a watched unionmap: follows a member table rebuilt on disk", "[tables]") {
    test::TempDir dir;
    std::string src = dir / "t";
    REQUIRE(util::build_indexed(src, util::DbType::cdb, {{"k", "one"}}));
    auto cfg = test::config_from("transport_maps = unionmap:{cdb:" + src + ", inline:{k=x}}\n");
    mail::WatchedMaps watched("transport_maps");
    CHECK(watched.get(cfg).lookup("k").value() == std::optional<std::string>("one,x"));
    REQUIRE(util::build_indexed(src, util::DbType::cdb, {{"k", "two"}}));
    CHECK(watched.get(cfg).lookup("k").value() == std::optional<std::string>("two,x"));
}
