#include "server/master_proto.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace kurir::server;

TEST_CASE("child status: round trip, and strict refusals", "[master_proto]") {
    for (auto status : {ChildStatus::busy, ChildStatus::available}) {
        auto wire = encode_status({4711, status});
        auto d = decode_status(std::string_view(wire.data(), wire.size()));
        REQUIRE(d);
        CHECK(d->pid == 4711);
        CHECK(d->status == status);
    }
    auto wire = encode_status({4711, ChildStatus::available});
    std::string good(wire.data(), wire.size());
    CHECK_FALSE(decode_status(good.substr(0, 7)));
    CHECK_FALSE(decode_status(good + "x"));
    std::string bad_status = good;
    bad_status[7] = 2;
    auto e = decode_status(bad_status);
    REQUIRE_FALSE(e);
    CHECK(e.error().text == "child status: bad status 2 from pid 4711");
    CHECK_FALSE(decode_status(std::string(8, '\0')));                            // pid 0
    CHECK_FALSE(decode_status(std::string("\xff\xff\xff\xff\0\0\0\1", 8)));   // pid -1
}
