#include "mail/ehlo_keywords.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("smtpd_discard_ehlo_keywords: the listed keywords leave the reply", "[ehlo_keywords]") {
    const std::string reply = "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-DSN\r\n250 CHUNKING";
    std::vector<std::string> dropped;
    auto d = parse_ehlo_discard({"chunking", "Size"});
    CHECK_FALSE(d.silent);
    CHECK(d.discards("CHUNKING"));
    CHECK(discard_ehlo_keywords(reply, d, dropped) == "250-mx.test\r\n250-PIPELINING\r\n250 DSN");
    CHECK(dropped == std::vector<std::string>{"SIZE", "CHUNKING"});

    dropped.clear();
    auto silent = parse_ehlo_discard({"silent-discard", "pipelining", "dsn", "size", "chunking"});
    CHECK(silent.silent);
    CHECK(parse_ehlo_discard({"silent_discard"}).silent);
    CHECK(discard_ehlo_keywords(reply, silent, dropped) == "250 mx.test");  // the greeting stays

    dropped.clear();
    CHECK(discard_ehlo_keywords(reply, parse_ehlo_discard({}), dropped) == reply);
    CHECK(dropped.empty());
    // A host name that looks like a keyword is the greeting, never dropped.
    CHECK(discard_ehlo_keywords("250-dsn\r\n250 DSN", parse_ehlo_discard({"dsn"}), dropped) == "250 dsn");
}
