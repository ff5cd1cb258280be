#include "mail/inet_interfaces.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace kurir;
using namespace kurir::mail;

namespace {
using Hosts = std::vector<std::string>;

// A resolver from a table; an unknown name is an error naming it.
HostResolver table(std::map<std::string, Hosts> names) {
    return [names](const std::string& host) -> util::Result<Hosts> {
        auto it = names.find(host);
        if (it == names.end()) return util::fail(host + ": Name or service not known");
        return it->second;
    };
}

Hosts hosts(std::string_view interfaces, InetProtocols p, const HostResolver& r = table({})) {
    auto h = inet_listen_hosts(interfaces, p, r);
    REQUIRE(h);
    return *h;
}

constexpr InetProtocols kBoth{true, true}, kV4{true, false}, kV6{false, true};
}  // namespace

TEST_CASE("parse_inet_protocols: ipv4, ipv6, all, lists; anything else is an error", "[inet]") {
    CHECK(*parse_inet_protocols("all") == kBoth);
    CHECK(*parse_inet_protocols("ipv4") == kV4);
    CHECK(*parse_inet_protocols("IPv6") == kV6);
    CHECK(*parse_inet_protocols("ipv4, ipv6") == kBoth);
    CHECK(*parse_inet_protocols("ipv6 ipv4") == kBoth);
    for (const char* bad : {"", "ipv5", "ipv4, inet6", " , "}) {
        INFO(bad);
        auto p = parse_inet_protocols(bad);
        REQUIRE_FALSE(p);
        CHECK_THAT(p.error().text, Catch::StartsWith("inet_protocols: "));
    }
    CHECK(inet_protocols_text(kBoth) == "ipv4, ipv6");
    CHECK(inet_protocols_text(kV6) == "ipv6");
}

TEST_CASE("inet_listen_hosts: all and loopback-only per inet_protocols", "[inet]") {
    CHECK(hosts("all", kBoth) == Hosts{"0.0.0.0", "::"});
    CHECK(hosts("ALL", kV4) == Hosts{"0.0.0.0"});
    CHECK(hosts("all", kV6) == Hosts{"::"});
    CHECK(hosts("loopback-only", kBoth) == Hosts{"127.0.0.1", "::1"});
    CHECK(hosts("loopback-only", kV4) == Hosts{"127.0.0.1"});
    CHECK(hosts("loopback-only", kV6) == Hosts{"::1"});
}

TEST_CASE("inet_listen_hosts: a list of addresses ([::1] or ::1) and hostnames", "[inet]") {
    auto r = table({{"localhost", {"127.0.0.1", "::1"}}, {"mx.test", {"192.0.2.1", "2001:db8::1"}}});
    CHECK(hosts("127.0.0.1, [::1]", kBoth, r) == Hosts{"127.0.0.1", "::1"});
    CHECK(hosts("::1 192.0.2.7", kBoth, r) == Hosts{"::1", "192.0.2.7"});
    CHECK(hosts("localhost", kBoth, r) == Hosts{"127.0.0.1", "::1"});
    // A hostname's addresses of a family not in use are left out.
    CHECK(hosts("localhost, mx.test", kV4, r) == Hosts{"127.0.0.1", "192.0.2.1"});
    CHECK(hosts("mx.test", kV6, r) == Hosts{"2001:db8::1"});
    // Duplicates once.
    CHECK(hosts("127.0.0.1, localhost", kV4, r) == Hosts{"127.0.0.1"});
}

TEST_CASE("inet_listen_hosts: what cannot be listened on is an error naming it", "[inet]") {
    auto r = table({{"v6only.test", {"2001:db8::1"}}});
    struct Row {
        const char* value;
        InetProtocols p;
        const char* error;
    };
    for (const Row& row : {Row{"::1", kV4, "inet_interfaces: ::1: IPv6 is not in inet_protocols = ipv4"},
                           Row{"[127.0.0.1]", kV6, "inet_interfaces: 127.0.0.1: IPv4 is not in inet_protocols = ipv6"},
                           Row{"v6only.test", kV4,
                               "inet_interfaces: v6only.test: no address for inet_protocols = "
                               "ipv4"},
                           Row{"nosuch.test", kBoth, "inet_interfaces: nosuch.test: Name or service not known"},
                           Row{"all, 127.0.0.1", kBoth, "inet_interfaces: \"all\" must be the only value"},
                           Row{"", kBoth, "inet_interfaces: empty (want all, loopback-only or addresses)"}}) {
        INFO(row.value);
        auto h = inet_listen_hosts(row.value, row.p, r);
        REQUIRE_FALSE(h);
        CHECK(h.error().text == row.error);
    }
}

TEST_CASE(
    "inet_listen_addresses: a listener without a host takes each host, "
    "one with a host only its own",
    "[inet]") {
    Hosts both{"0.0.0.0", "::"};
    CHECK(inet_listen_addresses("smtp", both) == Hosts{"0.0.0.0:smtp", "[::]:smtp"});
    CHECK(inet_listen_addresses("2525", Hosts{"127.0.0.1", "::1"}) == Hosts{"127.0.0.1:2525", "[::1]:2525"});
    CHECK(inet_listen_addresses("127.0.0.1:2525", both) == Hosts{"127.0.0.1:2525"});
    CHECK(inet_listen_addresses("[::1]:2525", both) == Hosts{"[::1]:2525"});
    CHECK(inet_listen_addresses("localhost:smtp", both) == Hosts{"localhost:smtp"});
    CHECK_FALSE(inet_service_has_host("submission"));
    CHECK(inet_service_has_host("[::1]:587"));
}

TEST_CASE(
    "smtp_bind_addresses: explicit per family, else the one non-loopback "
    "inet_interfaces address",
    "[inet]") {
    auto b = smtp_bind_addresses("127.0.0.2", "", {});
    REQUIRE(b);
    CHECK(b->ipv4 == "127.0.0.2");
    CHECK(b->ipv6.empty());
    b = smtp_bind_addresses("", "::1", {"0.0.0.0", "::"});
    REQUIRE(b);
    CHECK(b->ipv4.empty());
    CHECK(b->ipv6 == "::1");
    // inet_interfaces = 192.0.2.1, 2001:db8::1: the client's source too
    // (Postfix).
    b = smtp_bind_addresses("", "", {"192.0.2.1", "2001:db8::1"});
    REQUIRE(b);
    CHECK(b->ipv4 == "192.0.2.1");
    CHECK(b->ipv6 == "2001:db8::1");
    // ... unless the wildcard says otherwise, or there are two, or it is
    // loopback.
    b = smtp_bind_addresses("0.0.0.0", "::", {"192.0.2.1", "2001:db8::1"});
    REQUIRE(b);
    CHECK(b->ipv4.empty());
    CHECK(b->ipv6.empty());
    b = smtp_bind_addresses("", "", {"192.0.2.1", "192.0.2.2", "::1"});
    REQUIRE(b);
    CHECK(b->ipv4.empty());
    CHECK(b->ipv6.empty());
    for (auto [v4, v6, error] :
         {std::tuple{"::1", "", "smtp_bind_address = ::1: not a numeric IPv4 address"},
          std::tuple{"", "127.0.0.1", "smtp_bind_address6 = 127.0.0.1: not a numeric IPv6 address"},
          std::tuple{"mx.test", "", "smtp_bind_address = mx.test: not a numeric IPv4 address"}}) {
        auto bad = smtp_bind_addresses(v4, v6, {});
        REQUIRE_FALSE(bad);
        CHECK(bad.error().text == error);
    }
}
