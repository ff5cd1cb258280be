// A milter's spec: a socket path or an address literal is its address at
// once (no lookup); a host name is left for c-ares; a bad spec is refused.
#include "server/milter_address.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>

using namespace kurir::server;

TEST_CASE("milter spec: literals and paths need no lookup", "[milter_address]") {
    auto v4 = parse_milter_spec("inet:127.0.0.1:8891");
    REQUIRE(v4);
    REQUIRE(v4->address);
    auto* in = reinterpret_cast<const sockaddr_in*>(&v4->address->storage);
    CHECK(in->sin_family == AF_INET);
    CHECK(ntohs(in->sin_port) == 8891);
    CHECK(ntohl(in->sin_addr.s_addr) == INADDR_LOOPBACK);

    auto v6 = parse_milter_spec("inet:[::1]:8892");
    REQUIRE(v6);
    REQUIRE(v6->address);
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&v6->address->storage);
    CHECK(in6->sin6_family == AF_INET6);
    CHECK(ntohs(in6->sin6_port) == 8892);
    CHECK(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));

    auto un = parse_milter_spec("unix:/run/milter.sock");
    REQUIRE(un);
    REQUIRE(un->address);
    CHECK(std::strcmp(reinterpret_cast<const sockaddr_un*>(&un->address->storage)->sun_path, "/run/milter.sock") == 0);
}

TEST_CASE("milter spec: a host name is left for the lookup", "[milter_address]") {
    auto name = parse_milter_spec("inet:milter.example:8891");
    REQUIRE(name);
    CHECK_FALSE(name->address);
    CHECK(name->host == "milter.example");
    CHECK(name->port == 8891);
}

TEST_CASE("milter spec: bad specs are refused with what is wrong", "[milter_address]") {
    CHECK(parse_milter_spec("tcp:x:1").error().text == "want inet:host:port or unix:/path");
    CHECK(parse_milter_spec("inet:x").error().text == "want inet:host:port");
    CHECK(parse_milter_spec("inet:x:port").error().text == "bad port \"port\"");
    CHECK(parse_milter_spec("inet:x:70000").error().text == "bad port \"70000\"");
    CHECK(parse_milter_spec("unix:").error().text == "bad socket path");
}
