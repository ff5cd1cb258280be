#include "mail/dsn_params.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("xtext decodes +XX and refuses what RFC 3461 forbids", "[dsn]") {
    CHECK(decode_xtext("a+2Bb+3Dc").value() == "a+b=c");
    CHECK(decode_xtext("").value().empty());
    for (const char* bad : {"+", "+2", "+2b", "+G0", "a=b", "a b", "\x7f", "\x01"}) {
        INFO(bad);
        CHECK_FALSE(decode_xtext(bad));
    }
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    CHECK(decode_xtext(encode_xtext(all)).value() == all);
    CHECK(encode_xtext("a+b=c d") == "a+2Bb+3Dc+20d");
}

TEST_CASE("NOTIFY: NEVER alone, or SUCCESS FAILURE DELAY once each", "[dsn]") {
    CHECK(parse_notify("NEVER").value() == notify::never);
    CHECK(parse_notify("success,Failure").value() == (notify::success | notify::failure));
    CHECK(parse_notify("DELAY").value() == notify::delay);
    for (const char* bad : {"", "NEVER,SUCCESS", "SUCCESS,SUCCESS", "SOMETIMES", "SUCCESS,", ",DELAY"}) {
        INFO(bad);
        CHECK_FALSE(parse_notify(bad));
    }
    CHECK(format_notify(notify::success | notify::delay) == "SUCCESS,DELAY");
    CHECK(format_notify(notify::never) == "NEVER");
    CHECK(format_notify(0).empty());
    CHECK(wants_notice(0, notify::failure));
    CHECK(wants_notice(0, notify::delay));
    CHECK_FALSE(wants_notice(0, notify::success));
    CHECK_FALSE(wants_notice(notify::never, notify::failure));
    CHECK(wants_notice(notify::success, notify::success));
    CHECK_FALSE(wants_notice(notify::success, notify::failure));
}

TEST_CASE("ORCPT, RET and ENVID", "[dsn]") {
    CHECK(parse_orcpt("rfc822;bob+2Bx@example.org").value() == "rfc822;bob+x@example.org");
    CHECK(format_orcpt("rfc822;bob+x@example.org") == "rfc822;bob+2Bx@example.org");
    for (const char* bad : {"bob@x", ";bob@x", "rfc822;", "rfc 822;x", "rfc822;a+0Ab", "rfc822;a+00b"}) {
        INFO(bad);
        CHECK_FALSE(parse_orcpt(bad));
    }
    CHECK_FALSE(parse_orcpt("rfc822;" + std::string(kMaxOrcpt, 'a')));
    CHECK(parse_ret("hdrs").value() == "HDRS");
    CHECK(parse_ret("FULL").value() == "FULL");
    CHECK_FALSE(parse_ret("BODY"));
    CHECK(parse_envid("QQ+2B1").value() == "QQ+1");
    CHECK_FALSE(parse_envid(""));
    CHECK_FALSE(parse_envid(std::string(kMaxEnvid + 1, 'a')));
    CHECK_FALSE(parse_envid("a+0Db"));
}
