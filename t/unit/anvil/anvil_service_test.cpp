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
    CHECK(t.apply(a, {K::connect, "smtp", "127.0.0.1"})->count == 1);
    CHECK(t.apply(b, {K::connect, "smtp", "127.0.0.1"})->count == 2);  // another smtpd, same client
    CHECK(t.apply(a, {K::connect, "smtp", "127.0.0.2"})->count == 1);  // another client
    CHECK(t.apply(a, {K::connect, "submission", "127.0.0.1"})->count == 1);  // another service
    CHECK(t.apply(a, {K::disconnect, "smtp", "127.0.0.1"})->count == 1);
    CHECK(t.count("smtp", "127.0.0.1") == 1);
}

TEST_CASE("anvil: a connection that goes gives back what it counted, and only that", "[anvil]") {
    anvil::AnvilTable t;
    auto a = t.open_conn(), b = t.open_conn();
    for (int i = 0; i < 5; ++i) REQUIRE(t.apply(a, {K::connect, "smtp", "192.0.2.1"}));
    REQUIRE(t.apply(b, {K::connect, "smtp", "192.0.2.1"}));
    CHECK(t.count("smtp", "192.0.2.1") == 6);
    t.close_conn(a);  // that smtpd died
    CHECK(t.count("smtp", "192.0.2.1") == 1);
    // b's disconnect of a client a counted changes nothing of a's (gone) ...
    CHECK(t.apply(b, {K::disconnect, "smtp", "192.0.2.9"})->count == 0);
    // ... and a second disconnect of what b counted once changes nothing.
    CHECK(t.apply(b, {K::disconnect, "smtp", "192.0.2.1"})->count == 0);
    CHECK(t.apply(b, {K::disconnect, "smtp", "192.0.2.1"})->count == 0);
    t.close_conn(b);
    CHECK(t.entries() == 0);  // nothing left behind: memory follows open sessions
}

TEST_CASE("anvil: answer decodes strictly and replies with the count", "[anvil]") {
    anvil::AnvilTable t;
    auto c = t.open_conn();
    auto r = anvil::answer(t, c, mail::proto::encode(AnvilRequest{K::connect, "smtp", "::1"}));
    REQUIRE(r);
    auto reply = mail::proto::decode_anvil_reply(*r);
    REQUIRE(reply);
    CHECK(reply->count == 1);
    auto bad = anvil::answer(t, c, util::Attrs{{"protocol", "anvil-request/1"}, {"request", "lookup"}});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().text.starts_with("anvil-request: malformed request"));
}
