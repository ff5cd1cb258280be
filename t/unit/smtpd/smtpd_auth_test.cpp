// smtpd's AUTH command on a real event loop, with kurir's own argon2id
// table (verified on the worker thread) and with a stand-in backend that
// answers later, as Dovecot does.
#include "smtpd_fixture.hpp"
#include "mail/sasl.hpp"
#include "smtpd/smtpd_session.hpp"
#include "util/db_map.hpp"

#include <catch2/catch.hpp>
#include <event2/event.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

using namespace kurir;
namespace kt = kurir::test;
using namespace std::string_literals;

namespace {

std::string hash_of(const std::string& pw) {
    char out[crypto_pwhash_STRBYTES];
    REQUIRE(crypto_pwhash_str(out, pw.data(), pw.size(), crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN) == 0);
    return out;
}

// kurir's own table: alice's argon2id hash, and a user whose value is
// plaintext. A base of AuthFixture, so it is built before smtpd's policy
// opens it.
struct SaslTable {
    SaslTable() {
        REQUIRE(sodium_init() >= 0);
        REQUIRE(util::build_db(maps / "sasl_passwd.db", util::DbType::hash,
                               {{"alice", hash_of("secret")}, {"plain", "secret"}}));
    }
    kt::TempDir maps;
};

// AUTH enabled with that table; connect() starts the session.
struct AuthFixture : SaslTable, kt::SmtpdFixture {
    explicit AuthFixture(const std::string& extra)
        : SmtpdFixture("smtpd_sasl_auth_enable = yes\nsmtpd_error_sleep_time = 0\n"
                       "smtpd_sasl_password_maps = hash:" + maps.path() + "/sasl_passwd\n" + extra) {}
};

const std::string kNoTlsOnly = "smtpd_tls_auth_only = no\nsmtpd_sasl_type = kurir\n";

}  // namespace

TEST_CASE("smtpd AUTH: not offered without TLS by default, 538 when tried", "[smtpd_auth]") {
    AuthFixture f("");
    f.connect();
    std::string ehlo = f.one("EHLO c.test");
    CHECK(ehlo.find("AUTH") == std::string::npos);
    CHECK(f.one("AUTH PLAIN " + mail::base64_encode("\0alice\0secret"s)) ==
          "538 5.7.11 Encryption required for requested authentication mechanism");
}

TEST_CASE("smtpd AUTH: not enabled, before EHLO", "[smtpd_auth]") {
    {
        AuthFixture f("smtpd_sasl_auth_enable = no\n");
        f.connect();
        CHECK(f.one("EHLO c.test").find("AUTH") == std::string::npos);
        CHECK(f.one("AUTH PLAIN") == "503 5.5.1 Error: authentication not enabled");
    }
    AuthFixture f(kNoTlsOnly);
    f.connect();
    CHECK(f.one("AUTH PLAIN") == "503 5.5.1 Error: send HELO/EHLO first");
    CHECK(f.one("EHLO c.test").find("250-AUTH PLAIN LOGIN\n") != std::string::npos);
}

TEST_CASE("smtpd AUTH PLAIN: success, then no second AUTH; the user reaches the session", "[smtpd_auth]") {
    AuthFixture f(kNoTlsOnly);
    f.connect();
    f.one("EHLO c.test");
    CHECK(f.one("AUTH PLAIN " + mail::base64_encode("\0alice\0secret"s)) == "235 2.7.0 Authentication successful");
    CHECK(f.one("AUTH PLAIN " + mail::base64_encode("\0alice\0secret"s)) == "503 5.5.1 Error: already authenticated");
    CHECK(f.one("QUIT") == "221 2.0.0 Bye");
    f.talk("", 1);
    CHECK(f.log.text().find("auth=1/2") != std::string::npos);
}

TEST_CASE("smtpd AUTH PLAIN without initial response, and LOGIN in two steps", "[smtpd_auth]") {
    AuthFixture f(kNoTlsOnly);
    f.connect();
    f.one("EHLO c.test");
    SECTION("PLAIN") {
        CHECK(f.one("AUTH PLAIN") == "334 ");
        CHECK(f.one(mail::base64_encode("\0alice\0secret"s)) == "235 2.7.0 Authentication successful");
    }
    SECTION("LOGIN") {
        CHECK(f.one("AUTH LOGIN") == "334 VXNlcm5hbWU6");
        CHECK(f.one(mail::base64_encode("alice")) == "334 UGFzc3dvcmQ6");
        CHECK(f.one(mail::base64_encode("secret")) == "235 2.7.0 Authentication successful");
    }
    SECTION("LOGIN with the user name as initial response") {
        CHECK(f.one("AUTH login " + mail::base64_encode("alice")) == "334 UGFzc3dvcmQ6");
        CHECK(f.one(mail::base64_encode("secret")) == "235 2.7.0 Authentication successful");
    }
    SECTION("pipelined after AUTH: waits for the verification") {
        auto r = f.talk("AUTH PLAIN " + mail::base64_encode("\0alice\0secret"s) + "\r\nMAIL FROM:<a@b.test>\r\n", 2);
        REQUIRE(r.size() == 2);
        CHECK(r[0] == "235 2.7.0 Authentication successful");
        CHECK(r[1] == "250 2.1.0 Ok");
    }
}

TEST_CASE("smtpd AUTH: failures and their log line", "[smtpd_auth]") {
    AuthFixture f(kNoTlsOnly);
    f.connect();
    f.one("EHLO c.test");
    CHECK(f.one("AUTH PLAIN " + mail::base64_encode("\0alice\0wrong"s)) ==
          "535 5.7.8 Error: authentication failed: authentication failure");
    CHECK(f.log.text().find("]: SASL PLAIN authentication failed: authentication failure\n") != std::string::npos);
    // Unknown user, and a table value that is no hash (never compared as plaintext).
    CHECK(f.one("AUTH PLAIN " + mail::base64_encode("\0nobody\0secret"s)).starts_with("535 5.7.8 "));
    CHECK(f.one("AUTH PLAIN " + mail::base64_encode("\0plain\0secret"s)).starts_with("535 5.7.8 "));
    CHECK(f.log.text().find("user plain: value is not an argon2id hash") != std::string::npos);
    CHECK(f.one("AUTH PLAIN not-base64") == "501 5.5.2 Cannot decode response");
    CHECK(f.one("AUTH LOGIN") == "334 VXNlcm5hbWU6");
    CHECK(f.one("dXNlcg") == "501 5.5.2 Cannot decode response");
    CHECK(f.one("AUTH LOGIN") == "334 VXNlcm5hbWU6");
    CHECK(f.one("*") == "501 5.7.0 Authentication aborted");
    CHECK(f.one("AUTH CRAM-MD5") == "504 5.5.4 Unsupported authentication mechanism");
    CHECK(f.one("AUTH") == "501 5.5.4 Syntax: AUTH mechanism");
    CHECK(f.one("MAIL FROM:<a@b.test>") == "250 2.1.0 Ok");
    CHECK(f.one("AUTH PLAIN") == "503 5.5.1 Error: MAIL transaction in progress");
}

TEST_CASE("smtpd AUTH: failed attempts meet the hard error limit", "[smtpd_auth]") {
    AuthFixture f(kNoTlsOnly + "smtpd_hard_error_limit = 3\n");
    f.connect();
    f.one("EHLO c.test");
    std::string bad = "AUTH PLAIN " + mail::base64_encode("\0alice\0wrong"s);
    CHECK(f.one(bad).starts_with("535 "));
    CHECK(f.one(bad).starts_with("535 "));
    auto r = f.talk(bad + "\r\n", 2);
    REQUIRE(r.size() == 2);
    CHECK(r[0].starts_with("535 "));
    CHECK(r[1] == "421 4.7.0 mx.test Error: too many errors");
}

TEST_CASE("smtpd AUTH: an over-long response is refused, a long one is read", "[smtpd_auth]") {
    AuthFixture f(kNoTlsOnly);
    f.connect();
    f.one("EHLO c.test");
    // Longer than a command line may be, within RFC 4954's 12288.
    std::string longer = "AUTH PLAIN " + mail::base64_encode("\0alice\0"s + std::string(600, 'x'));
    CHECK(f.one(longer) == "535 5.7.8 Error: authentication failed: PLAIN: field longer than 255 octets");
    CHECK(f.one("AUTH PLAIN") == "334 ");
    CHECK(f.one(std::string(13000, 'A')) == "500 5.5.0 Error: line too long");
    CHECK(f.one("NOOP") == "250 2.0.0 Ok");
}

TEST_CASE("smtpd_sasl_security_options: noplaintext leaves nothing, and says so", "[smtpd_auth]") {
    auto cfg = mail::Config::from_text("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_security_options = noanonymous, noplaintext\n", "/tmp");
    REQUIRE(cfg);
    auto p = smtpd::load_policy(*cfg);
    REQUIRE_FALSE(p);
    CHECK(p.error().text.find("noplaintext leaves no mechanism") != std::string::npos);
    auto bad = mail::Config::from_text("smtpd_sasl_type = cyrus\nsmtpd_sasl_auth_enable = yes\n", "/tmp");
    REQUIRE(bad);
    auto q = smtpd::load_policy(*bad);
    REQUIRE_FALSE(q);
    CHECK(q.error().text.find("smtpd_sasl_type") != std::string::npos);
}

TEST_CASE("kurir's table: an unknown user's password is checked too, on the worker, as a known user's",
          "[smtpd_auth]") {
    // Timing must not tell which users exist: the answer for "nobody" comes
    // from the worker thread after a hash check, never at once in step().
    AuthFixture f(kNoTlsOnly);
    f.connect();  // the fixture ends when its session does
    for (std::string user : {"alice", "nobody"}) {
        INFO(user);
        auto exchange = f.policy.sasl->start("PLAIN", smtpd::SaslClient{"", "127.0.0.1", false});
        std::optional<smtpd::SaslOutcome> got;
        exchange->step("\0"s + user + "\0wrong"s, [&](smtpd::SaslOutcome o) { got = std::move(o); });
        CHECK_FALSE(got.has_value());  // not answered inside step
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!got) {
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            event_base_loop(f.ctx.base, EVLOOP_ONCE);
        }
        CHECK(got->kind == smtpd::SaslOutcome::Kind::failure);
    }
}
