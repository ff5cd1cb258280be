#include "mail/smtp_reply.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

namespace {
SmtpReply parse_all(std::string_view text) {
    size_t used = 0;
    auto r = parse_smtp_reply(text, used);
    REQUIRE(r);
    REQUIRE(*r);
    CHECK(used == text.size());
    return **r;
}
}  // namespace

TEST_CASE("parse_smtp_reply: single and multi-line replies", "[smtp_reply]") {
    auto r = parse_all("250 2.1.0 Ok\r\n");
    CHECK(r.code == 250);
    CHECK(r.enhanced == "2.1.0");
    CHECK(r.text() == "250 2.1.0 Ok");

    r = parse_all("250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
    CHECK(r.lines.size() == 5);
    auto f = parse_ehlo_features(r);
    CHECK(f.pipelining);
    CHECK(f.starttls);
    CHECK(f.eightbitmime);
    CHECK(f.has_size);
    CHECK(f.size_limit == 10240000);
    CHECK_FALSE(f.dsn);

    r = parse_all("220\n");
    CHECK(r.code == 220);
    CHECK(r.enhanced == "2.0.0");
    r = parse_all("550 5.1.1 <bob@x>: user unknown\n");
    CHECK(r.enhanced == "5.1.1");
    r = parse_all("550 4.1.1 class does not match\n");
    CHECK(r.enhanced == "5.0.0");
    r = parse_all("451 4.3.0\r\n");
    CHECK(r.enhanced == "4.3.0");
}

TEST_CASE("parse_ehlo_features: AUTH and the old AUTH= form", "[smtp_reply]") {
    auto f = parse_ehlo_features(parse_all("250-mx.example\r\n250-AUTH PLAIN LOGIN\r\n250 AUTH=LOGIN\r\n"));
    CHECK(f.auth);
    CHECK(f.auth_mechanisms == "plain login login");
    CHECK_FALSE(parse_ehlo_features(parse_all("250-mx.example\r\n250 AUTHX\r\n")).auth);
    // A bare AUTH (no mechanisms) is read as none, not past its end: the
    // fuzz target found "250-250-\n250 auth\n" throwing out_of_range.
    auto bare = parse_ehlo_features(parse_all("250-mx.example\r\n250 AUTH\r\n"));
    CHECK(bare.auth);
    CHECK(bare.auth_mechanisms.empty());
}

TEST_CASE("parse_smtp_reply: incomplete input waits, consumed stops at the reply", "[smtp_reply]") {
    size_t used = 0;
    for (std::string_view part : {"", "25", "250", "250-a\r\n", "250-a\r\n250 b"}) {
        auto r = parse_smtp_reply(part, used);
        REQUIRE(r);
        CHECK_FALSE(*r);
    }
    auto r = parse_smtp_reply("250 ok\r\n354 go\r\n", used);
    REQUIRE(r);
    REQUIRE(*r);
    CHECK(used == 8);
}

TEST_CASE("parse_smtp_reply: refuses what no server may send", "[smtp_reply]") {
    size_t used = 0;
    for (std::string_view bad : {"hello\r\n", "25\r\n", "250x\r\n", "650 no\r\n", "150 no\r\n",
                                 "250-a\r\n251 b\r\n", "2a0 x\r\n"}) {
        INFO(bad);
        CHECK_FALSE(parse_smtp_reply(bad, used));
    }
    std::string long_line(kMaxReplyLine + 10, 'a');
    CHECK_FALSE(parse_smtp_reply("250 " + long_line + "\r\n", used));
    CHECK_FALSE(parse_smtp_reply("250 " + long_line, used));
    std::string many;
    for (size_t i = 0; i <= kMaxReplyLines; ++i) many += "250-x\r\n";
    CHECK_FALSE(parse_smtp_reply(many + "250 x\r\n", used));
}

TEST_CASE("SmtpReply::text replaces control characters", "[smtp_reply]") {
    auto r = parse_all(std::string_view("550 bad\x01\x7f\r\n"));
    CHECK(r.text() == "550 bad??");
}
