#include "mail/lmtp_nexthop.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("parse_lmtp_nexthop: unix sockets, absolute and under the queue", "[lmtp_nexthop]") {
    auto a = parse_lmtp_nexthop("unix:/run/dovecot/lmtp");
    REQUIRE(a);
    CHECK(a->unix_socket);
    CHECK(a->path == "/run/dovecot/lmtp");
    CHECK(lmtp_socket_path(*a, "/var/spool/kurir") == "/run/dovecot/lmtp");
    auto r = parse_lmtp_nexthop("unix:private/dovecot-lmtp");
    REQUIRE(r);
    CHECK(r->unix_socket);
    CHECK(r->path == "private/dovecot-lmtp");
    CHECK(lmtp_socket_path(*r, "/var/spool/kurir") == "/var/spool/kurir/private/dovecot-lmtp");
}

TEST_CASE("parse_lmtp_nexthop: TCP forms, port 24 by default, never MX", "[lmtp_nexthop]") {
    struct Row {
        const char* text;
        const char* host;
        int port;
    };
    for (const Row& r : {Row{"inet:127.0.0.1:2424", "127.0.0.1", 2424},
                         Row{"inet:[127.0.0.1]:25", "127.0.0.1", 25},
                         Row{"inet:mail.example.com", "mail.example.com", 24},
                         Row{"store.example.com:2003", "store.example.com", 2003},
                         Row{"[::1]:24", "::1", 24}, Row{"inet:Store.Example.COM:lmtp", "store.example.com", 24},
                         Row{"localhost", "localhost", 24}}) {
        INFO(r.text);
        auto n = parse_lmtp_nexthop(r.text);
        REQUIRE(n);
        CHECK_FALSE(n->unix_socket);
        CHECK(n->inet.host == r.host);
        CHECK(n->inet.port == r.port);
        CHECK_FALSE(n->inet.use_mx);
    }
}

TEST_CASE("parse_lmtp_nexthop: refuses what is no socket", "[lmtp_nexthop]") {
    for (const char* text : {"unix:", "unix:a b", "unix:../etc/x", "unix:private/../../x", "unix:x/..", "inet:",
                             "inet:host:0", "inet:host:99999", "host:port", "inet:[::1", "",
                             "unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
        INFO(text);
        CHECK_FALSE(parse_lmtp_nexthop(text));
    }
}

TEST_CASE("parse_transport_spec takes lmtp's nexthops", "[lmtp_nexthop]") {
    auto u = parse_transport_spec("lmtp:unix:private/dovecot-lmtp");
    REQUIRE(u);
    CHECK(u->transport == "lmtp");
    CHECK(u->nexthop == "unix:private/dovecot-lmtp");
    auto i = parse_transport_spec("dovecot:inet:127.0.0.1:24");
    REQUIRE(i);
    CHECK(i->transport == "dovecot");
    CHECK(i->nexthop == "inet:127.0.0.1:24");
    CHECK(parse_transport_spec("lmtp:127.0.0.1:24"));
    CHECK_FALSE(parse_transport_spec("lmtp:unix:"));
    CHECK_FALSE(parse_transport_spec("lmtp:inet:host:x"));
}
