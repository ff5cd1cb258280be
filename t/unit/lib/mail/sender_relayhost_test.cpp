#include "mail/resolve.hpp"
#include "mail/sender_relayhost.hpp"

#include "test_util.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("sender_dependent_relayhost: the address, then @domain, <> for the null sender, DUNNO", "[sender_relayhost]") {
    kurir::test::TempDir dir;
    std::string src = dir.path() + "/relays";
    kurir::test::spit(src, "alice@one.example [relay1.example]:587\n"
                           "@one.example [relay-domain.example]\n"
                           "bob@one.example DUNNO\n"
                           "<> [bounces.example]\n");
    auto maps = MapList::open({"texthash:" + src});
    REQUIRE(maps);
    using O = std::optional<std::string>;
    CHECK(sender_dependent_relayhost(*maps, "Alice@One.Example", "<>").value() == O("[relay1.example]:587"));
    CHECK(sender_dependent_relayhost(*maps, "carol@one.example", "<>").value() == O("[relay-domain.example]"));
    CHECK(sender_dependent_relayhost(*maps, "bob@one.example", "<>").value() == std::nullopt);
    CHECK(sender_dependent_relayhost(*maps, "dave@two.example", "<>").value() == std::nullopt);
    CHECK(sender_dependent_relayhost(*maps, "", "<>").value() == O("[bounces.example]"));
    CHECK(sender_dependent_relayhost(*maps, "", "nosuchkey").value() == std::nullopt);
}

TEST_CASE("resolve_address: a given relayhost stands for $relayhost, transport_maps still win", "[sender_relayhost]") {
    Config c = kurir::test::config_from("relayhost = [default.example]\nmydestination = mx.example\n");
    std::string sender_relay = "[relay1.example]:587";
    CHECK(resolve_address(c, "u@far.example", nullptr, nullptr, nullptr, nullptr, &sender_relay)->nexthop == sender_relay);
    CHECK(resolve_address(c, "u@far.example")->nexthop == "[default.example]");
    CHECK(resolve_address(c, "u@mx.example", nullptr, nullptr, nullptr, nullptr, &sender_relay)->transport == "local");
}
