#include "server/master_proto.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace kurir;
using namespace kurir::server;

TEST_CASE("child status: round trip, and strict refusals", "[master_proto]") {
    for (auto status : {ChildStatus::busy, ChildStatus::available}) {
        auto d = decode_status(encode_status({4711, status}));
        REQUIRE(d);
        CHECK(d->pid == 4711);
        CHECK(d->status == status);
    }
    auto refused = [](util::Attrs a) {
        auto d = decode_status(a);
        REQUIRE_FALSE(d);
        return d.error().text;
    };
    CHECK(refused({{"protocol", "child-status/2"}, {"pid", "1"}, {"status", "busy"}}) ==
          "child-status: protocol \"child-status/2\", expected \"child-status/1\"");
    CHECK(refused({{"pid", "1"}, {"status", "busy"}}) == "child-status: no protocol field");
    CHECK(refused({{"protocol", "child-status/1"}, {"pid", "1"}}) == "child-status: missing field status");
    CHECK(refused({{"protocol", "child-status/1"}, {"status", "busy"}, {"pid", "1"}}) ==
          "child-status: field status where pid was expected");
    CHECK(refused({{"protocol", "child-status/1"}, {"pid", "1"}, {"status", "busy"}, {"x", ""}}) ==
          "child-status: extra field x");
    for (std::string pid : {"", "0", "-1", "1x", "99999999999"})
        CHECK(refused({{"protocol", "child-status/1"}, {"pid", pid}, {"status", "busy"}}) ==
              "child-status: malformed pid: \"" + pid + "\"");
    CHECK(refused({{"protocol", "child-status/1"}, {"pid", "1"}, {"status", "2"}}) ==
          "child-status: malformed status: \"2\"");
}
