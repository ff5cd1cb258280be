#include "util/cidr.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

using namespace kurir::util;

TEST_CASE("parse_cidr: IPv4, IPv6, brackets and prefixes", "[cidr]") {
    struct Case {
        std::string text;
        int family;
        int prefix;
        std::vector<unsigned char> head;  // first bytes of the address
    };
    std::vector<Case> cases = {
        {"127.0.0.0/8", AF_INET, 8, {127, 0, 0, 0}},
        {"192.0.2.1", AF_INET, 32, {192, 0, 2, 1}},
        {"[192.0.2.1]", AF_INET, 32, {192, 0, 2, 1}},
        {"[192.0.2.0]/24", AF_INET, 24, {192, 0, 2, 0}},
        {"0.0.0.0/0", AF_INET, 0, {0, 0, 0, 0}},
        {"10.0.0.0/12", AF_INET, 12, {10, 0, 0, 0}},
        {"::1", AF_INET6, 128, {0, 0, 0, 0}},
        {"[::1]/128", AF_INET6, 128, {0, 0}},
        {"[2001:db8::]/32", AF_INET6, 32, {0x20, 0x01, 0x0d, 0xb8}},
        {"2001:db8::/48", AF_INET6, 48, {0x20, 0x01, 0x0d, 0xb8}},
        {"::/0", AF_INET6, 0, {0, 0}},
        {"::ffff:192.0.2.1", AF_INET6, 128, {0, 0}},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto r = parse_cidr(c.text);
        REQUIRE(r);
        CHECK(r->family == c.family);
        CHECK(r->prefix == c.prefix);
        for (size_t i = 0; i < c.head.size(); ++i) CHECK(r->addr[i] == c.head[i]);
    }
    auto one = parse_cidr("[::1]");
    REQUIRE(one);
    CHECK(one->addr[15] == 1);
}

TEST_CASE("parse_cidr: bad input is an error naming the input", "[cidr]") {
    for (std::string bad : std::vector<std::string>{"", "/8", "1.2.3.4/", "1.2.3.4/33", "::1/129", "[::1]/129", "1.2.3.4/8x",
                            "1.2.3.4/x", "1.2.3.4/ 8", "1.2.3", "256.1.1.1", "1.2.3.4.5", "[1.2.3.4",
                            "1.2.3.4]", "[]", "abc", "localhost", "1.2.3.4 ", " 1.2.3.4", "[::1/128]",
                            "2001:db8:::1", "fe80::1%eth0", "1.2.3.4/8/8", "1.2.3.4/99999999999"}) {
        INFO("\"" << bad << "\"");
        auto r = parse_cidr(bad);
        REQUIRE(!r);
        CHECK_THAT(r.error().text, Catch::Contains(bad));
    }
}

// from_chars accepts a sign, and a negative prefix then means "whole address".
TEST_CASE("parse_cidr: a negative prefix is an error", "[cidr]") {
    for (std::string bad : std::vector<std::string>{"10.0.0.0/-1", "10.0.0.0/-8", "::/-1"}) {
        INFO("\"" << bad << "\"");
        CHECK(!parse_cidr(bad));
    }
}

// inet_pton gets a C string, so bytes after a NUL are never looked at.
TEST_CASE("parse_cidr: a NUL byte is an error", "[cidr]") {
    CHECK(!parse_cidr(std::string("127.0.0.1\0junk", 14)));
    CHECK(!parse_cidr(std::string("[::1\0]", 6)));
}

TEST_CASE("cidr_match: networks, hosts, v4-mapped v6", "[cidr]") {
    struct Case {
        std::string net, address;
        bool match;
    };
    std::vector<Case> cases = {
        {"127.0.0.0/8", "127.0.0.1", true},
        {"127.0.0.0/8", "127.255.255.255", true},
        {"127.0.0.0/8", "128.0.0.1", false},
        {"127.0.0.0/8", "126.255.255.255", false},
        {"127.0.0.0/8", "::ffff:127.0.0.1", true},  // v4-mapped v6 matches v4 nets
        {"127.0.0.0/8", "::FFFF:127.1.2.3", true},
        {"127.0.0.0/8", "::fffe:127.0.0.1", false},
        {"127.0.0.0/8", "::127.0.0.1", false},
        {"127.0.0.0/8", "::1", false},
        {"127.0.0.0/8", "", false},
        {"127.0.0.0/8", "garbage", false},
        {"127.0.0.0/8", "127.0.0.1/8", false},
        {"192.0.2.0/25", "192.0.2.127", true},
        {"192.0.2.0/25", "192.0.2.128", false},
        {"10.0.0.0/12", "10.15.255.255", true},
        {"10.0.0.0/12", "10.16.0.0", false},
        {"10.1.2.3/8", "10.200.0.1", true},  // host bits in the net are masked
        {"192.0.2.1", "192.0.2.1", true},
        {"192.0.2.1", "192.0.2.2", false},
        {"192.0.2.1", "::ffff:192.0.2.1", true},
        {"[192.0.2.1]", "192.0.2.1", true},
        {"0.0.0.0/0", "1.2.3.4", true},
        {"0.0.0.0/0", "255.255.255.255", true},
        {"0.0.0.0/0", "::ffff:1.2.3.4", true},
        {"0.0.0.0/0", "::1", false},
        {"[2001:db8::]/32", "2001:db8::1", true},
        {"[2001:db8::]/32", "2001:DB8:ffff::1", true},
        {"[2001:db8::]/32", "2001:db9::1", false},
        {"[2001:db8::]/32", "192.0.2.1", false},
        {"2001:db8::/33", "2001:db8:7fff::1", true},
        {"2001:db8::/33", "2001:db8:8000::1", false},
        {"[::1]/128", "::1", true},
        {"[::1]/128", "0:0:0:0:0:0:0:1", true},
        {"[::1]/128", "::2", false},
        {"[::1]/128", "127.0.0.1", false},
        {"::/0", "2001:db8::1", true},
        {"::/0", "1.2.3.4", false},
    };
    for (const auto& c : cases) {
        INFO(c.net << " vs " << c.address);
        auto net = parse_cidr(c.net);
        REQUIRE(net);
        CHECK(cidr_match(*net, c.address) == c.match);
    }
}

TEST_CASE("cidr_match_any", "[cidr]") {
    std::vector<Cidr> nets;
    for (const char* n : {"127.0.0.0/8", "[::1]/128"}) nets.push_back(parse_cidr(n).value());
    CHECK(cidr_match_any(nets, "127.1.1.1"));
    CHECK(cidr_match_any(nets, "::1"));
    CHECK(cidr_match_any(nets, "::ffff:127.0.0.1"));
    CHECK(!cidr_match_any(nets, "10.0.0.1"));
    CHECK(!cidr_match_any(nets, "::2"));
    CHECK(!cidr_match_any({}, "127.0.0.1"));
}
