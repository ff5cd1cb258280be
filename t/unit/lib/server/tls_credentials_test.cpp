#include "server/tls_credentials.hpp"

#include <catch2/catch.hpp>

using namespace kurir::server;

TEST_CASE("ticket keys ride after the PEM blocks and come back intact", "[tls]") {
    auto keys = new_ticket_keys();
    REQUIRE(keys);
    REQUIRE(keys->size() == kTicketKeyBytes);
    CHECK(*new_ticket_keys() != *keys);
    std::string pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
    std::string bundle = with_ticket_keys(pem, *keys);
    CHECK(bundle.rfind(pem + "\nkurir-ticket-keys: ", 0) == 0);
    CHECK(bundle.back() == '\n');
    CHECK(ticket_keys_of(bundle) == *keys);
}

TEST_CASE("a bundle without keys, or with damaged ones, carries none", "[tls]") {
    std::string keys(kTicketKeyBytes, '\x5a');
    std::string bundle = with_ticket_keys("pem\n", keys);
    CHECK(ticket_keys_of("pem\n") == std::nullopt);
    CHECK(ticket_keys_of(bundle.substr(0, bundle.size() - 3)) == std::nullopt);  // short
    std::string bad = bundle;
    bad[bad.size() - 5] = 'G';
    CHECK(ticket_keys_of(bad) == std::nullopt);  // not hex
    CHECK(ticket_keys_of("xkurir-ticket-keys: " + bundle.substr(bundle.find(": ") + 2)) == std::nullopt);  // mid-line
    CHECK(ticket_keys_of(bundle) == keys);
}
