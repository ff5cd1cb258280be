#include "mail/srs.hpp"
#include "smtpd/smtpd_srs.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>
#include <sys/stat.h>

using namespace kurir;
using Kind = smtpd::SrsRecipient::Kind;

TEST_CASE("smtpd srs: RCPT TO an SRS address", "[srs]") {
    test::TempDir dir;
    std::string secrets = dir / "secrets";
    test::spit(secrets, "new\nold\n");
    ::chmod(secrets.c_str(), 0600);
    auto cfg = test::config_from("myhostname = mx.test\nsrs_domain = mx.test\nsrs_secrets = " + secrets + "\n");
    long now = 1577836860;
    std::string made = mail::srs::Codec("mx.test", {"old"}).forward("s@client.test", now - 3 * 86400);
    auto r = smtpd::srs_recipient(cfg, made, now);
    CHECK(r.kind == Kind::valid);
    CHECK(r.target == "s@client.test");
    // Any case of the domain.
    CHECK(smtpd::srs_recipient(cfg, made.substr(0, made.find('@')) + "@MX.Test", now).kind == Kind::valid);
    auto forged = smtpd::srs_recipient(cfg, "SRS0=FAKE" + made.substr(9), now);
    CHECK(forged.kind == Kind::invalid);
    CHECK(forged.why == "Hash invalid in SRS address");
    CHECK(smtpd::srs_recipient(cfg, made, now + 30 * 86400).why == "Time stamp out of date");
    // Not SRS, or at another domain: not ours to judge.
    CHECK(smtpd::srs_recipient(cfg, "bob@mx.test", now).kind == Kind::none);
    CHECK(smtpd::srs_recipient(cfg, made.substr(0, made.find('@')) + "@other.test", now).kind == Kind::none);
    auto off = test::config_from("myhostname = mx.test\n");
    CHECK(smtpd::srs_recipient(off, made, now).kind == Kind::none);
    // An SRS1 address reverses to the first forwarder's SRS0 address.
    std::string s1 = mail::srs::Codec("mx.test", {"new"}).forward("SRS0=HHHH=TT=orig.test=u@first.test", now);
    CHECK(smtpd::srs_recipient(cfg, s1, now).target == "SRS0=HHHH=TT=orig.test=u@first.test");
    // Secrets that cannot be read: a temporary failure with the reason.
    ::chmod(secrets.c_str(), 0644);
    auto e = smtpd::srs_recipient(cfg, made, now);
    CHECK(e.kind == Kind::error);
    CHECK(e.why.find("readable by others") != std::string::npos);
}
