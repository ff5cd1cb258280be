#include "mail/srs.hpp"
#include "mail/srs_address.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>
#include <sys/stat.h>

using namespace kurir::mail;
using namespace kurir::mail::srs;

namespace {

// postsrsd's own test vectors (its unit and blackbox tests): secret
// "tops3cr3t", domain example.com, 2020-01-01 00:01:00 UTC.
constexpr long kWhen = 1577836860;
Codec postsrsd_codec() { return Codec("example.com", {"tops3cr3t"}); }

}  // namespace

TEST_CASE("srs: forward as postsrsd does", "[srs]") {
    auto c = postsrsd_codec();
    CHECK(c.forward("test@otherdomain.com", kWhen) == "SRS0=vmyz=2W=otherdomain.com=test@example.com");
    // A foreign SRS0 becomes SRS1 naming its forwarder; a foreign SRS1 keeps its first forwarder.
    CHECK(c.forward("SRS0=opaque+string@otherdomain.com", kWhen) ==
          "SRS1=chaI=otherdomain.com==opaque+string@example.com");
    CHECK(c.forward("SRS1=X=thirddomain.com==opaque+string@otherdomain.com", kWhen) ==
          "SRS1=JIBX=thirddomain.com==opaque+string@example.com");
    // Already ours, or no domain: unchanged.
    CHECK(c.forward("test@example.com", kWhen) == "test@example.com");
    CHECK(c.forward("test@EXAMPLE.com", kWhen) == "test@EXAMPLE.com");
    CHECK(c.forward("SRS0=XjO9=2V=otherdomain.com=test@example.com", kWhen) ==
          "SRS0=XjO9=2V=otherdomain.com=test@example.com");
    CHECK(c.forward("foo", kWhen) == "foo");
}

TEST_CASE("srs: reverse as postsrsd does", "[srs]") {
    auto c = postsrsd_codec();
    CHECK(c.reverse("SRS0=XjO9=2V=otherdomain.com=test@example.com", kWhen).value() == "test@otherdomain.com");
    CHECK(c.reverse("SRS1=JIBX=thirddomain.com==opaque+string@example.com", kWhen).value() ==
          "SRS0=opaque+string@thirddomain.com");
    // Case does not matter to the hash, the tag or the timestamp.
    CHECK(c.reverse("srs0=xjo9=2v=otherdomain.com=test@example.com", kWhen).value() == "test@otherdomain.com");
    CHECK(c.reverse("SRS0=XJO9=2V=OTHERDOMAIN.COM=TEST@EXAMPLE.COM", kWhen).value() == "TEST@OTHERDOMAIN.COM");
    CHECK(c.reverse("test@example.com", kWhen).error().text == "Not an SRS address");
    CHECK(c.reverse("SRS0=FAKE=2V=otherdomain.com=test@example.com", kWhen).error().text ==
          "Hash invalid in SRS address");
    CHECK(c.reverse("SRS0=te87=T7=otherdomain.com=test@example.com", kWhen).error().text == "Time stamp out of date");
    CHECK(c.reverse("SRS0=VcIb=7N=otherdomain.com=test@example.com", kWhen).error().text == "Time stamp out of date");
    CHECK(c.reverse("SRS0=@example.com", kWhen).error().text == "No hash in SRS0 address");
    CHECK(c.reverse("SRS0=XjO9@example.com", kWhen).error().text == "No timestamp in SRS0 address");
    CHECK(c.reverse("SRS0=XjO9=2V@example.com", kWhen).error().text == "No host in SRS0 address");
    CHECK(c.reverse("SRS0=XjO9=2V=otherdomain.com@example.com", kWhen).error().text == "No user in SRS0 address");
    // A hash of another length is not ours.
    CHECK(!c.reverse("SRS0=XjO=2V=otherdomain.com=test@example.com", kWhen));
    CHECK(!c.reverse("SRS0=XjO9a=2V=otherdomain.com=test@example.com", kWhen));
}

TEST_CASE("srs: round trip, other separators, long addresses", "[srs]") {
    auto c = Codec("fwd.example", {"s3cret"});
    for (std::string sender : {"a@b.example", "first.last+tag@Sub.Example.ORG", "x=y@z.example", "\"q u\"@q.example"}) {
        std::string srs = c.forward(sender, kWhen);
        CHECK(srs.starts_with("SRS0="));
        CHECK(srs.ends_with("@fwd.example"));
        CHECK(c.reverse(srs, kWhen).value() == sender);
    }
    std::string srs = c.forward("u@h.example", kWhen);
    // libsrs2 reads "-" and "+" after the tag as "=".
    CHECK(c.reverse("SRS0-" + srs.substr(5), kWhen).value() == "u@h.example");
    CHECK(c.reverse("SRS0+" + srs.substr(5), kWhen).value() == "u@h.example");
    CHECK(!c.reverse("SRS0_" + srs.substr(5), kWhen));
    std::string host = std::string(500, 'a') + ".net";
    CHECK(c.reverse(c.forward("t@" + host, kWhen), kWhen).value() == "t@" + host);
    // SRS1 made here reverses to the first forwarder's SRS0.
    std::string s1 = c.forward("SRS0=HHHH=TT=orig.example=u@first.example", kWhen);
    CHECK(s1 == "SRS1=" + hash("s3cret", {"first.example", "=HHHH=TT=orig.example=u"}) +
                    "=first.example==HHHH=TT=orig.example=u@fwd.example");
    CHECK(c.reverse(s1, kWhen).value() == "SRS0=HHHH=TT=orig.example=u@first.example");
    CHECK(c.reverse(s1, kWhen + 400L * kDaySeconds).value() == "SRS0=HHHH=TT=orig.example=u@first.example");
}

TEST_CASE("srs: the timestamp is valid for 21 days", "[srs]") {
    auto c = Codec("fwd.example", {"s3cret"});
    std::string srs = c.forward("u@h.example", kWhen);
    CHECK(c.reverse(srs, kWhen + 21 * kDaySeconds));
    CHECK(c.reverse(srs, kWhen + 22 * kDaySeconds).error().text == "Time stamp out of date");
    CHECK(c.reverse(srs, kWhen - kDaySeconds).error().text == "Time stamp out of date");  // from tomorrow
    // Days wrap at 1024: a slot near the end is still fresh early in the next cycle.
    long end_of_cycle = (1024L * 20 - 1) * kDaySeconds;
    CHECK(timestamp(end_of_cycle) == "77");
    CHECK(timestamp(end_of_cycle + kDaySeconds) == "AA");
    CHECK(timestamp_fresh("77", end_of_cycle + 5 * kDaySeconds));
    CHECK(!timestamp_fresh("77", end_of_cycle + 30 * kDaySeconds));
    CHECK(decode_timestamp("2w") == decode_timestamp("2W"));
    CHECK(decode_timestamp("2") == -1);
    CHECK(decode_timestamp("21") == -1);  // 1 is not base32
}

TEST_CASE("srs: the first secret signs, every secret verifies", "[srs]") {
    auto old_codec = Codec("fwd.example", {"old"});
    auto rotated = Codec("fwd.example", {"new", "old"});
    std::string made_before = old_codec.forward("u@h.example", kWhen);
    std::string made_after = rotated.forward("u@h.example", kWhen);
    CHECK(made_before != made_after);
    CHECK(made_after == Codec("fwd.example", {"new"}).forward("u@h.example", kWhen));
    CHECK(rotated.reverse(made_before, kWhen).value() == "u@h.example");
    CHECK(rotated.reverse(made_after, kWhen).value() == "u@h.example");
    CHECK(!Codec("fwd.example", {"new"}).reverse(made_before, kWhen));
}

TEST_CASE("srs: parse_local", "[srs]") {
    auto p = parse_local("SRS0=hash=TT=host.example=a=b");
    REQUIRE(p);
    auto s0 = std::get<Srs0>(*p);
    CHECK(s0.hash == "hash");
    CHECK(s0.stamp == "TT");
    CHECK(s0.host == "host.example");
    CHECK(s0.user == "a=b");
    auto q = parse_local("srs1+hash=first.example==H=T=h=u");
    REQUIRE(q);
    CHECK(std::get<Srs1>(*q).host == "first.example");
    CHECK(std::get<Srs1>(*q).opaque == "=H=T=h=u");
    CHECK(parse_local("SRS1=hash").error().text == "No host in SRS1 address");
    CHECK(parse_local("SRS1=hash=first.example").error().text == "No user in SRS1 address");
    CHECK(parse_local("SRS1=hash=first.example=").error().text == "No user in SRS1 address");
    CHECK(parse_local("SRS2=x=y=z=w").error().text == "Not an SRS address");
    CHECK(parse_local("SRS0").error().text == "Not an SRS address");
    CHECK(!is_srs("SRSx=a"));
}

TEST_CASE("srs: the secrets file", "[srs]") {
    kurir::test::TempDir dir;
    std::string path = dir / "secrets";
    kurir::test::spit(path, "# rotated 2026-12\nnew-secret\n\n  old-secret  \r\n");
    ::chmod(path.c_str(), 0640);
    CHECK(load_secrets(path).value() == std::vector<std::string>{"new-secret", "old-secret"});
    ::chmod(path.c_str(), 0644);
    CHECK(load_secrets(path).error().text == "srs_secrets: " + path + ": readable by others; make it mode 0640 or 0600");
    kurir::test::spit(path, "# nothing\n\n");
    ::chmod(path.c_str(), 0600);
    CHECK(load_secrets(path).error().text == "srs_secrets: " + path + ": no secret in file");
    CHECK(load_secrets(dir / "missing").error().text.starts_with("srs_secrets: open " + (dir / "missing")));
    CHECK(load_secrets("secrets").error().text == "srs_secrets: \"secrets\" is not an absolute file name");
}
