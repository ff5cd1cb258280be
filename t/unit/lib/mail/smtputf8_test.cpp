#include "mail/smtp_command.hpp"
#include "mail/smtputf8.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("valid_utf8: RFC 3629, no overlong forms, no surrogates", "[smtputf8]") {
    for (std::string ok : {"", "plain ascii", "\xc3\xbc", "\xe2\x82\xac", "\xf0\x9f\x93\xa7", "a\xc3\xa9z",
                           "\xf4\x8f\xbf\xbf" /* U+10FFFF */}) {
        INFO(ok);
        CHECK(valid_utf8(ok));
    }
    for (std::string bad : {"\xff", "\xc3", "\xc3(", "\x80", "\xc0\xaf" /* overlong '/' */, "\xe0\x80\xaf",
                            "\xed\xa0\x80" /* surrogate */, "\xf4\x90\x80\x80" /* above U+10FFFF */, "\xf5\x80\x80\x80",
                            "a\xe2\x82"}) {
        INFO(bad);
        CHECK_FALSE(valid_utf8(bad));
    }
}

TEST_CASE("MAIL FROM's SMTPUTF8 parameter, as Postfix answers it", "[smtputf8]") {
    auto args = parse_mail_args("FROM:<\xc3\xbc@example.org> smtputf8 SIZE=10", "FROM:");
    REQUIRE(args);
    CHECK(args->address == "\xc3\xbc@example.org");
    REQUIRE(args->params.size() == 2);
    CHECK(args->params[0] == std::pair<std::string, std::string>{"SMTPUTF8", ""});  // any case, no value
    CHECK(smtputf8_param_refusal("", true).empty());
    CHECK(smtputf8_param_refusal("yes", true) == "555 5.5.4 Unsupported option: SMTPUTF8=yes");
    CHECK(smtputf8_param_refusal("", false) == "555 5.5.4 Unsupported option: SMTPUTF8");
}

TEST_CASE("smtpd: command lines must be UTF-8 while SMTPUTF8 is offered", "[smtputf8]") {
    CHECK(smtputf8_line_refusal("MAIL FROM:<\xc3\xbc@x>", true).empty());
    CHECK(smtputf8_line_refusal("MAIL FROM:<\xff@x>", true) == "500 5.5.2 Error: bad UTF-8 syntax");
    CHECK(smtputf8_line_refusal("MAIL FROM:<\xff@x>", false).empty());  // smtputf8_enable = no: as before
}

TEST_CASE("smtpd: UTF-8 addresses with and without SMTPUTF8", "[smtputf8]") {
    const std::string syntax = "501 5.1.3 Bad recipient address syntax";
    struct Case {
        std::string address;
        bool declared, strict;
        std::string reply;
    };
    std::vector<Case> cases = {
        {"a@example.org", false, false, ""},
        {"a@example.org", false, true, ""},
        {"\xc3\xbc@example.org", true, false, ""},
        {"\xc3\xbc@example.org", false, false, ""},  // a UTF-8 local part passed before SMTPUTF8 and still does
        {"\xc3\xbc@example.org", false, true, "553 5.6.7 Must declare SMTPUTF8 to send unicode address"},
        {"a@\xc3\xbc.example", true, false, ""},
        {"a@\xc3\xbc.example", false, false, syntax},
        {"a@\xc3\xbc.example", false, true, "553 5.6.7 Must declare SMTPUTF8 to send unicode address"},
        {"a@\xc3\xbc.example", true, true, ""},
    };
    for (const auto& c : cases) {
        INFO(c.address << " declared=" << c.declared << " strict=" << c.strict);
        CHECK(smtputf8_address_refusal(c.address, c.declared, c.strict, syntax) == c.reply);
    }
}

TEST_CASE("smtp client: SMTPUTF8, downgrade or bounce (Postfix's rule)", "[smtputf8]") {
    using S = Smtputf8Send;
    // requested, server offers, the message needs UTF-8
    CHECK(smtputf8_decision(true, true, true) == S::smtputf8);
    CHECK(smtputf8_decision(true, true, false) == S::smtputf8);
    CHECK(smtputf8_decision(true, false, true) == S::bounce);
    CHECK(smtputf8_decision(true, false, false) == S::plain);  // all ASCII: sent without it
    CHECK(smtputf8_decision(false, false, true) == S::plain);  // never requested: as before SMTPUTF8
    CHECK(smtputf8_decision(false, true, true) == S::plain);
}

TEST_CASE("needs_smtputf8: envelope and header lines, not the body", "[smtputf8]") {
    std::vector<std::string> ascii_rcpts{"a@example.org"};
    CHECK_FALSE(needs_smtputf8("s@example.org", ascii_rcpts, {"Subject: hello"}));
    CHECK(needs_smtputf8("\xc3\xbc@example.org", ascii_rcpts, {}));
    CHECK(needs_smtputf8("s@example.org", {"a@example.org", "b@\xc3\xbc.example"}, {}));
    CHECK(needs_smtputf8("s@example.org", ascii_rcpts, {"Subject: gr\xc3\xbc\xc3\x9f"}));
}

TEST_CASE("smtputf8_autodetect_classes: Postfix's names", "[smtputf8]") {
    auto d = parse_smtputf8_autodetect({"sendmail", "verify"});
    REQUIRE(d);
    CHECK(d->sendmail);
    auto none = parse_smtputf8_autodetect({"verify"});
    REQUIRE(none);
    CHECK_FALSE(none->sendmail);
    auto all = parse_smtputf8_autodetect({"ALL"});
    REQUIRE(all);
    CHECK(all->sendmail);
    auto bad = parse_smtputf8_autodetect({"sendmail", "smtp"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().text == "smtputf8_autodetect_classes: unknown class \"smtp\"");
}
