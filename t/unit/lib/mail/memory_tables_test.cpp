#include "mail/maps.hpp"
#include "mail/memory_tables.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace kurir::mail;

TEST_CASE("texthash: the map source read as it is; static: one value for every key", "[tables]") {
    kurir::test::TempDir dir;
    std::ofstream(dir.path() + "/t") << "# comment\nAlice@Example.COM  OK\nbob  REJECT go away\n  and stay\nbob second\n";
    auto t = TextTable::load_texthash(dir.path() + "/t");
    REQUIRE(t);
    CHECK(t->lookup("alice@example.com").value() == "OK");
    CHECK(t->lookup("ALICE@example.com").value() == "OK");
    CHECK(t->lookup("bob").value() == "REJECT go away and stay");
    CHECK(!t->lookup("carol").value());
    CHECK(!TextTable::load_texthash(dir.path() + "/missing"));
    auto s = TextTable::static_value("5000");
    CHECK(s.lookup("anything").value() == "5000");
    CHECK(s.lookup("").value() == "5000");
}

TEST_CASE("cidr: the first network holding the address; errors at FILE, line N", "[tables]") {
    auto t = CidrTable::parse("# nets\n192.0.2.0/24 REJECT test net\n192.0.2.7 OK\n10.0.0.0/8  DUNNO\n"
                              "2001:db8::/32 REJECT v6\n[2001:db9::]/32 OK\n0.0.0.0/0 catch\n",
                              "/t/cidr");
    REQUIRE(t);
    CHECK(t->lookup("192.0.2.7").value() == "REJECT test net");  // first match wins
    CHECK(t->lookup("10.1.2.3").value() == "DUNNO");
    CHECK(t->lookup("2001:db8::1").value() == "REJECT v6");
    CHECK(t->lookup("2001:db9::1").value() == "OK");
    CHECK(t->lookup("::ffff:10.0.0.1").value() == "DUNNO");
    CHECK(t->lookup("198.51.100.1").value() == "catch");
    CHECK(!t->lookup("2001:dba::1").value());
    CHECK(!t->lookup("not an address").value());
    auto host_bits = CidrTable::parse("\n192.0.2.1/24 OK\n", "/t/cidr");
    REQUIRE(!host_bits);
    CHECK(host_bits.error().text == "/t/cidr, line 2: non-null host address bits in \"192.0.2.1/24\"");
    CHECK(CidrTable::parse("192.0.2.0/24\n", "/t/c").error().text.find("line 1: missing result") != std::string::npos);
    CHECK(!CidrTable::parse("192.0.2.0/33 x\n", "/t/c"));
    CHECK(!CidrTable::parse("!192.0.2.0/24 x\n", "/t/c"));
}

TEST_CASE("MapList: texthash:, static: and cidr: as tables; cidr: sees whole keys only", "[tables]") {
    kurir::test::TempDir dir;
    std::ofstream(dir.path() + "/text") << "example.com from-text\n";
    std::ofstream(dir.path() + "/nets") << "192.0.2.0/24 from-cidr\n";
    auto maps = MapList::open({"texthash:" + dir.path() + "/text", "cidr:" + dir.path() + "/nets", "static:fallback"});
    REQUIRE(maps);
    CHECK(maps->warnings().empty());
    CHECK(maps->lookup("example.com").value() == "from-text");
    CHECK(maps->lookup("192.0.2.9").value() == "from-cidr");
    CHECK(maps->lookup("other").value() == "fallback");
    CHECK(maps->lookup_partial("example.com").value() == "from-text");
    CHECK(maps->lookup_partial("192.0.2.9").value() == "fallback");  // cidr: is not asked partial keys
    CHECK(map_matches_whole_key_only("cidr:/x"));
    CHECK(!map_matches_whole_key_only("texthash:/x"));
    CHECK(!map_matches_whole_key_only("static:x"));
    CHECK(parse_map_spec("static:any value here")->path == "any value here");
    CHECK(!parse_map_spec("texthash:relative"));
    std::ofstream(dir.path() + "/bad") << "10.0.0.1/8 x\n";
    auto bad = MapList::open({"cidr:" + dir.path() + "/bad"});
    REQUIRE(bad);
    CHECK(bad->warnings().size() == 1);  // a broken table warns: its users defer
}
