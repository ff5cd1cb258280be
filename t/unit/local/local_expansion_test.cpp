#include "local/local_expansion.hpp"

#include <catch2/catch.hpp>

#include <string>

using kurir::local::Expansion;
using V = Expansion::Visit;

TEST_CASE("Expansion: a list met inside itself is a loop, met again after it is done is a duplicate", "[local]") {
    Expansion e;
    REQUIRE(e.enter("forward /h/a/.forward") == V::first);
    REQUIRE(e.enter("forward /h/b/.forward") == V::first);
    CHECK(e.enter("forward /h/a/.forward") == V::loop);  // b's .forward names a
    CHECK(e.enter("forward /h/b/.forward") == V::loop);
    CHECK(e.depth() == 2);
    e.leave("forward /h/b/.forward");
    CHECK(e.enter("forward /h/b/.forward") == V::again);  // a names b a second time
    e.leave("forward /h/a/.forward");
    CHECK(e.depth() == 0);
    CHECK(e.enter("forward /h/a/.forward") == V::again);
}

TEST_CASE("Expansion: a self-including file is a loop at once", "[local]") {
    Expansion e;
    REQUIRE(e.enter("include 1000 /l") == V::first);
    CHECK(e.enter("include 1000 /l") == V::loop);
    // The same file with other rights is another list.
    CHECK(e.enter("include 1001 /l") == V::first);
}

TEST_CASE("Expansion: a destination gets one copy", "[local]") {
    Expansion e;
    CHECK(e.deliver("mailbox /var/mail/amy") == V::first);
    CHECK(e.deliver("mailbox /var/mail/amy") == V::again);
    CHECK(e.deliver("command 1000 cat") == V::first);
    CHECK(e.deliver("command 1001 cat") == V::first);
    CHECK(e.deliver("command 1000 cat") == V::again);
    CHECK(e.items() == 3);  // duplicates are not counted
}

TEST_CASE("Expansion: depth is bounded", "[local]") {
    Expansion e(3, 100);
    CHECK(e.enter("alias a") == V::first);
    CHECK(e.enter("alias b") == V::first);
    CHECK(e.enter("alias c") == V::first);
    CHECK(e.enter("alias d") == V::too_deep);
    CHECK(e.depth() == 3);
    e.leave("alias c");
    CHECK(e.enter("alias d") == V::first);
}

TEST_CASE("Expansion: fan-out is bounded, lists and destinations alike", "[local]") {
    Expansion e(20, 5);
    REQUIRE(e.enter("alias big") == V::first);
    for (int i = 0; i < 4; ++i) CHECK(e.deliver("mailbox /m/" + std::to_string(i)) == V::first);
    CHECK(e.deliver("mailbox /m/4") == V::too_many);
    CHECK(e.enter("alias other") == V::too_many);
    // What was seen stays seen.
    CHECK(e.deliver("mailbox /m/0") == V::again);
}

TEST_CASE("Expansion: defaults are Postfix-sized", "[local]") {
    Expansion e;
    int deep = 0;
    while (e.enter("alias " + std::to_string(deep)) == V::first) ++deep;
    CHECK(deep == static_cast<int>(Expansion::kMaxDepth));
    Expansion wide;
    int many = 0;
    while (wide.deliver("file " + std::to_string(many)) == V::first) ++many;
    CHECK(many == static_cast<int>(Expansion::kMaxItems));
}

TEST_CASE("Expansion: peek says what enter would, and changes nothing", "[local]") {
    Expansion e(2, 3);
    CHECK(e.peek("include 0 /l") == V::first);
    CHECK(e.items() == 0);
    REQUIRE(e.enter("include 0 /l") == V::first);
    CHECK(e.peek("include 0 /l") == V::loop);
    e.leave("include 0 /l");
    CHECK(e.peek("include 0 /l") == V::again);
    REQUIRE(e.enter("alias a") == V::first);
    REQUIRE(e.enter("alias b") == V::first);
    CHECK(e.peek("alias c") == V::too_many);
    CHECK(e.items() == 3);
}
