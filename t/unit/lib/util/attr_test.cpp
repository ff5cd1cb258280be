#include "util/attr.hpp"

#include <catch2/catch.hpp>

using namespace kurir::util;

TEST_CASE("attribute frames round-trip, in order, with repeated names") {
    Attrs a{{"queue_id", "ABC"}, {"rcpt", "1 a@b"}, {"rcpt", "2 c@d"}, {"empty", ""}};
    std::string wire = attr_encode(a);
    auto d = attr_decode(wire);
    REQUIRE(d);
    REQUIRE(*d);
    CHECK((*d)->consumed == wire.size());
    CHECK((*d)->attrs.items() == a.items());
    CHECK((*d)->attrs.all("rcpt").size() == 2);
    CHECK_FALSE((*d)->attrs.get("missing"));
}

TEST_CASE("attribute decoder waits for a whole frame and rejects garbage") {
    std::string wire = attr_encode({{"name", "value"}});
    for (size_t cut = 0; cut < wire.size(); ++cut) {
        auto d = attr_decode(std::string_view(wire).substr(0, cut));
        REQUIRE(d);
        CHECK(!*d);
    }
    std::string bad = wire;
    bad[6] = 'N';  // upper case is not a valid name character
    CHECK(!attr_decode(bad));
    std::string huge("\xff\xff\xff\xff", 4);
    CHECK(!attr_decode(huge));
    // A value length that runs past the frame.
    std::string lying = wire;
    lying[lying.size() - 6] = 9;
    CHECK(!attr_decode(lying));
}
