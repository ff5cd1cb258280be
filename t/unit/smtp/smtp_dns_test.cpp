#include "smtp/smtp_dns.hpp"

#include "mail/nexthop.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <event2/event.h>
#include <netinet/in.h>

#include <optional>
#include <set>

using namespace kurir::smtp;

TEST_CASE("order_mx: lowest preference first, equal preferences in random order", "[smtp]") {
    std::vector<MxRecord> records{{20, "b1"}, {10, "a1"}, {20, "b2"}, {10, "a2"}, {30, "c"}, {20, "b3"}};
    std::set<std::string> first_seen;
    std::set<std::vector<std::string>> b_orders;
    for (unsigned seed = 0; seed < 64; ++seed) {
        std::mt19937 rng(seed);
        auto out = order_mx(records, rng);
        REQUIRE(out.size() == records.size());
        for (size_t i = 1; i < out.size(); ++i) CHECK(out[i - 1].preference <= out[i].preference);
        CHECK(out.back().host == "c");
        first_seen.insert(out.front().host);
        b_orders.insert({out[2].host, out[3].host, out[4].host});
    }
    CHECK(first_seen == std::set<std::string>{"a1", "a2"});  // both equals come first sometimes
    CHECK(b_orders.size() > 1);
}

TEST_CASE("Target::address_text names IPv4 and IPv6 addresses", "[smtp]") {
    Target t;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&t.addr);
    v4->sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.7", &v4->sin_addr);
    CHECK(t.address_text() == "192.0.2.7");
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&t.addr);
    v6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8::1", &v6->sin6_addr);
    CHECK(t.address_text() == "2001:db8::1");
}

TEST_CASE("find_targets: an address literal is its own target, no DNS query", "[smtp]") {
    event_base* base = event_base_new();
    std::string error;
    // A DNS server that never answers: a query would take seconds and fail.
    auto resolver = Resolver::create(base, {"127.0.0.1:9"}, error);
    REQUIRE(resolver);
    for (auto [text, family] : {std::pair{"[192.0.2.7]:2526", AF_INET}, std::pair{"[IPv6:2001:db8::1]:2526", AF_INET6}}) {
        INFO(text);
        auto nexthop = kurir::mail::parse_nexthop(text);
        REQUIRE(nexthop);
        std::optional<TargetList> got;
        resolver->find_targets(*nexthop, 5, [&](TargetList list) { got = std::move(list); });
        REQUIRE(got);  // at once: nothing was asked of the DNS
        REQUIRE(got->targets.size() == 1);
        const Target& t = got->targets[0];
        CHECK(t.addr.ss_family == family);
        CHECK(t.address_text() == (family == AF_INET ? "192.0.2.7" : "2001:db8::1"));
        int port = family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in*>(&t.addr)->sin_port)
                                     : ntohs(reinterpret_cast<const sockaddr_in6*>(&t.addr)->sin6_port);
        CHECK(port == 2526);
    }
    resolver.reset();
    event_base_free(base);
}

TEST_CASE("find_targets: an address literal of a family not in inet_protocols is no target", "[smtp]") {
    event_base* base = event_base_new();
    std::string error;
    auto resolver = Resolver::create(base, {"127.0.0.1:9"}, error);
    REQUIRE(resolver);
    struct Row {
        const char* text;
        kurir::mail::InetProtocols protocols;
        const char* error;
    };
    for (const Row& r :
         {Row{"[ipv6:::1]:2526", {true, false}, "no usable address for ::1: IPv6 is not in inet_protocols = ipv4"},
          Row{"[127.0.0.1]", {false, true}, "no usable address for 127.0.0.1: IPv4 is not in inet_protocols = ipv6"}}) {
        INFO(r.text);
        auto nexthop = kurir::mail::parse_nexthop(r.text);
        REQUIRE(nexthop);
        std::optional<TargetList> got;
        resolver->find_targets(
            *nexthop, 5, [&](TargetList list) { got = std::move(list); }, r.protocols);
        REQUIRE(got);
        CHECK(got->targets.empty());
        CHECK(got->error == r.error);
        CHECK(got->dsn == "4.4.4");
    }
    // Both families in use (the default): each literal is its own target.
    for (const char* text : {"[ipv6:::1]:2526", "[127.0.0.1]"}) {
        std::optional<TargetList> got;
        resolver->find_targets(*kurir::mail::parse_nexthop(text), 5, [&](TargetList list) { got = std::move(list); },
                               {true, true});
        REQUIRE(got);
        CHECK(got->targets.size() == 1);
    }
    resolver.reset();
    event_base_free(base);
}
