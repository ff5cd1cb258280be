#include "mail/nexthop.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("parse_nexthop: Postfix forms", "[nexthop]") {
    struct Row {
        const char* text;
        const char* host;
        int port;
        bool mx;
    };
    for (const Row& r : {Row{"example.com", "example.com", 25, true},
                         Row{"Example.COM.", "example.com", 25, true},
                         Row{"example.com:2525", "example.com", 2525, true},
                         Row{"[mx.example.com]", "mx.example.com", 25, false},
                         Row{"[127.0.0.1]:2526", "127.0.0.1", 2526, false},
                         Row{"[ipv6:::1]:26", "::1", 26, false},
                         Row{"[2001:db8::1]", "2001:db8::1", 25, false},
                         Row{"host:smtp", "host", 25, true}}) {
        INFO(r.text);
        auto n = parse_nexthop(r.text);
        REQUIRE(n);
        CHECK(n->host == r.host);
        CHECK(n->port == r.port);
        CHECK(n->use_mx == r.mx);
    }
}

TEST_CASE("parse_nexthop: refuses what is no destination", "[nexthop]") {
    for (const char* text : {"", "[]", "[host", "host:", "host:0", "host:65536", "host:25x", "[h]x", "a b",
                             "host/../x", "ho\nst", "[a:b]c", "[127.0.0.1]:-1", ":25", "."}) {
        INFO(text);
        CHECK_FALSE(parse_nexthop(text));
    }
}

TEST_CASE("parse_transport_spec splits transport and nexthop", "[nexthop]") {
    auto t = parse_transport_spec("smtp:[127.0.0.1]:2526");
    REQUIRE(t);
    CHECK(t->transport == "smtp");
    CHECK(t->nexthop == "[127.0.0.1]:2526");
    t = parse_transport_spec("local:");
    REQUIRE(t);
    CHECK(t->transport == "local");
    CHECK(t->nexthop.empty());
    t = parse_transport_spec(":relay.example");
    REQUIRE(t);
    CHECK(t->transport.empty());
    CHECK(t->nexthop == "relay.example");
    CHECK_FALSE(parse_transport_spec("smtp:[bad"));
    CHECK_FALSE(parse_transport_spec("sm tp:x"));
}
