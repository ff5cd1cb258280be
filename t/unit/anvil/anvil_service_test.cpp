// anvil's table and its answers in memory: counts per (service, address)
// across connections, released when a connection goes.
#include "anvil/anvil_service.hpp"

#include <catch2/catch.hpp>

using namespace kurir;
using mail::proto::AnvilRequest;
using K = AnvilRequest::Kind;

TEST_CASE("anvil: counts connections per service and address across smtpd processes", "[anvil]") {
    anvil::AnvilTable t;
    auto a = t.open_conn(), b = t.open_conn();
    CHECK(t.apply(a, {K::connect, "smtp", "127.0.0.1"}, 0)->count == 1);
    CHECK(t.apply(b, {K::connect, "smtp", "127.0.0.1"}, 0)->count == 2);  // another smtpd, same client
    CHECK(t.apply(a, {K::connect, "smtp", "127.0.0.2"}, 0)->count == 1);  // another client
    CHECK(t.apply(a, {K::connect, "submission", "127.0.0.1"}, 0)->count == 1);  // another service
    CHECK(t.apply(a, {K::disconnect, "smtp", "127.0.0.1"}, 0)->count == 1);
    CHECK(t.count("smtp", "127.0.0.1") == 1);
}

TEST_CASE("anvil: a connection that goes gives back what it counted, and only that", "[anvil]") {
    anvil::AnvilTable t;
    auto a = t.open_conn(), b = t.open_conn();
    for (int i = 0; i < 5; ++i) REQUIRE(t.apply(a, {K::connect, "smtp", "192.0.2.1"}, 0));
    REQUIRE(t.apply(b, {K::connect, "smtp", "192.0.2.1"}, 0));
    CHECK(t.count("smtp", "192.0.2.1") == 6);
    t.close_conn(a);  // that smtpd died
    CHECK(t.count("smtp", "192.0.2.1") == 1);
    // b's disconnect of a client a counted changes nothing of a's (gone) ...
    CHECK(t.apply(b, {K::disconnect, "smtp", "192.0.2.9"}, 0)->count == 0);
    // ... and a second disconnect of what b counted once changes nothing.
    CHECK(t.apply(b, {K::disconnect, "smtp", "192.0.2.1"}, 0)->count == 0);
    CHECK(t.apply(b, {K::disconnect, "smtp", "192.0.2.1"}, 0)->count == 0);
    t.close_conn(b);
    CHECK(t.entries() == 0);  // nothing left behind: memory follows open sessions
}

TEST_CASE("anvil: answer decodes strictly and replies with the count", "[anvil]") {
    anvil::AnvilTable t;
    auto c = t.open_conn();
    auto r = anvil::answer(t, c, mail::proto::encode(AnvilRequest{K::connect, "smtp", "::1"}), 0);
    REQUIRE(r);
    auto reply = mail::proto::decode_anvil_reply(*r);
    REQUIRE(reply);
    CHECK(reply->count == 1);
    auto bad = anvil::answer(t, c, util::Attrs{{"protocol", "anvil-request/2"}, {"request", "lookup"}}, 0);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().text.starts_with("anvil-request: malformed request"));
}

TEST_CASE("anvil: rates per kind in windows of anvil_rate_time_unit", "[anvil]") {
    anvil::AnvilTable t;
    t.set_rate_time_unit(60);
    auto a = t.open_conn(), b = t.open_conn();
    CHECK(t.apply(a, {K::connect, "smtp", "192.0.2.1"}, 1000)->rate == 1);
    CHECK(t.apply(b, {K::connect, "smtp", "192.0.2.1"}, 1010)->rate == 2);  // across smtpd processes
    CHECK(t.apply(a, {K::message, "smtp", "192.0.2.1"}, 1020)->rate == 1);  // each kind on its own
    CHECK(t.apply(a, {K::message, "smtp", "192.0.2.1"}, 1030)->rate == 2);
    CHECK(t.apply(a, {K::recipient, "smtp", "192.0.2.1"}, 1030)->rate == 1);
    CHECK(t.apply(a, {K::auth, "smtp", "192.0.2.1"}, 1030)->rate == 1);
    CHECK(t.apply(a, {K::newtls, "smtp", "192.0.2.1"}, 1030)->rate == 1);
    CHECK(t.apply(a, {K::message, "submission", "192.0.2.1"}, 1030)->rate == 1);  // per service
    CHECK(t.apply(a, {K::disconnect, "smtp", "192.0.2.1"}, 1040)->rate == 0);
    // The window that started at 1000 ends at 1060: everything starts over.
    CHECK(t.apply(a, {K::message, "smtp", "192.0.2.1"}, 1059)->rate == 3);
    CHECK(t.apply(a, {K::message, "smtp", "192.0.2.1"}, 1060)->rate == 1);
    CHECK(t.apply(a, {K::connect, "smtp", "192.0.2.1"}, 1061)->rate == 1);
}

TEST_CASE("anvil: a flood of addresses cannot grow the rate table without bound", "[anvil]") {
    anvil::AnvilTable t;
    t.set_rate_time_unit(60);
    auto a = t.open_conn();
    const size_t limit = anvil::AnvilTable::kMaxRateEntries;
    for (size_t i = 0; i < limit + 10; ++i)
        REQUIRE(t.apply(a, {K::message, "smtp", "10.0." + std::to_string(i)}, 0));
    CHECK(t.rate_entries() == limit);  // full of live windows: the newest are not counted
    CHECK(t.apply(a, {K::message, "smtp", "192.0.2.99"}, 30)->rate == 0);
    // Once the windows have ended, they make room.
    CHECK(t.apply(a, {K::message, "smtp", "192.0.2.99"}, 61)->rate == 1);
    CHECK(t.rate_entries() == 1);
}
