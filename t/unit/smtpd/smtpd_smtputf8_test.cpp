// smtpd's SMTPUTF8 (RFC 6531) over a real session, with Postfix 3.7's
// replies (seen from a private Postfix with the same settings).
#include "smtpd_fixture.hpp"

#include <catch2/catch.hpp>

namespace kt = kurir::test;

namespace {
struct Fixture : kt::SmtpdFixture {
    explicit Fixture(const std::string& extra = "") : SmtpdFixture(extra) {
        connect();
        talk("EHLO client.test\r\n", 1);
    }
};
}  // namespace

TEST_CASE("smtpd: SMTPUTF8 offered; MAIL FROM's SMTPUTF8 lets UTF-8 domains in", "[smtputf8][smtpd_session]") {
    kt::SmtpdFixture plain("");
    plain.connect();
    auto ehlo = plain.talk("EHLO client.test\r\n", 1);
    REQUIRE(ehlo.size() == 1);
    CHECK(ehlo[0].find("250-DSN\n250-SMTPUTF8\n250 CHUNKING") != std::string::npos);

    Fixture f;
    auto r = f.talk("MAIL FROM:<s@client.test> SMTPUTF8=yes\r\n"
                    "MAIL FROM:<\xff@client.test>\r\n"
                    "MAIL FROM:<s@\xc3\xbc.test>\r\n"
                    "MAIL FROM:<\xc3\xbc@client.test>\r\n"
                    "RCPT TO:<a@\xc3\xbc.test>\r\n"
                    "RSET\r\n"
                    "MAIL FROM:<s@\xc3\xbc.test> smtputf8\r\n"
                    "RCPT TO:<a@\xc3\xbc.test>\r\n"
                    "RCPT TO:<\xc3\xbc@mx.test>\r\n",
                    9);
    REQUIRE(r.size() == 9);
    CHECK(r[0] == "555 5.5.4 Unsupported option: SMTPUTF8=yes");
    CHECK(r[1] == "500 5.5.2 Error: bad UTF-8 syntax");
    CHECK(r[2] == "501 5.1.7 Bad sender address syntax");  // a UTF-8 domain needs SMTPUTF8
    CHECK(r[3] == "250 2.1.0 Ok");                         // a UTF-8 local part does not (strict_smtputf8 = no)
    CHECK(r[4] == "501 5.1.3 Bad recipient address syntax");
    CHECK(r[6] == "250 2.1.0 Ok");
    CHECK(r[7] == "554 5.7.1 <a@\xc3\xbc.test>: Relay access denied");  // past the syntax, byte-exact
    CHECK(r[8] == "250 2.1.5 Ok");
}

TEST_CASE("smtpd: strict_smtputf8 refuses undeclared UTF-8 with 553 5.6.7", "[smtputf8][smtpd_session]") {
    Fixture f("strict_smtputf8 = yes\n");
    auto r = f.talk("MAIL FROM:<\xc3\xbc@client.test>\r\nMAIL FROM:<s@client.test>\r\nRCPT TO:<\xc3\xbc@mx.test>\r\n", 3);
    REQUIRE(r.size() == 3);
    CHECK(r[0] == "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
    CHECK(r[1] == "250 2.1.0 Ok");
    CHECK(r[2] == "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
}

TEST_CASE("smtpd: smtputf8_enable = no offers nothing and refuses the parameter", "[smtputf8][smtpd_session]") {
    kt::SmtpdFixture off("smtputf8_enable = no\n");
    off.connect();
    auto ehlo = off.talk("EHLO client.test\r\n", 1);
    REQUIRE(ehlo.size() == 1);
    CHECK(ehlo[0].find("SMTPUTF8") == std::string::npos);
    CHECK(ehlo[0].ends_with("250-DSN\n250 CHUNKING"));
    auto r = off.talk("MAIL FROM:<s@client.test> SMTPUTF8\r\nMAIL FROM:<\xff@client.test>\r\n", 2);
    REQUIRE(r.size() == 2);
    CHECK(r[0] == "555 5.5.4 Unsupported option: SMTPUTF8");
    CHECK(r[1] == "250 2.1.0 Ok");  // 8-bit bytes pass unchecked, as in Postfix
}
