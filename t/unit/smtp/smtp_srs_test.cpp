#include "mail/srs.hpp"
#include "smtp/smtp_srs.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>
#include <sys/stat.h>

using namespace kurir;

namespace {

mail::QueueRecipient rcpt(std::string address, std::string original = {}) {
    mail::QueueRecipient r;
    r.address = std::move(address);
    r.original = std::move(original);
    return r;
}

}  // namespace

TEST_CASE("smtp srs: which recipients were forwarded", "[srs]") {
    auto cfg = test::config_from("myhostname = mx.test\nmyorigin = mx.test\n");
    mail::QueueEnvelope env;
    env.sender = "s@client.test";
    CHECK(!smtp::forwarded_recipient(cfg, env, rcpt("far@remote.test")));
    // virtual_alias_maps or a canonical map gave it another domain.
    CHECK(smtp::forwarded_recipient(cfg, env, rcpt("far@remote.test", "info@mx.test")));
    CHECK(smtp::forwarded_recipient(cfg, env, rcpt("far@remote.test", "info")));  // $myorigin
    // Rewritten within its domain, or only in case: not forwarded.
    CHECK(!smtp::forwarded_recipient(cfg, env, rcpt("bob@remote.test", "robert@Remote.TEST")));
    // A copy that local forwarded (an alias, a .forward): every recipient.
    env.attrs = {{"origin", "forward"}};
    CHECK(smtp::forwarded_recipient(cfg, env, rcpt("far@remote.test")));
}

TEST_CASE("smtp srs: the sender of forwarded mail", "[srs]") {
    test::TempDir dir;
    std::string secrets = dir / "secrets";
    test::spit(secrets, "s3cret\n");
    ::chmod(secrets.c_str(), 0600);
    std::string base = "myhostname = mx.test\nmydestination = mx.test\nvirtual_alias_domains = hosted.test\n";
    auto off = test::config_from(base);
    CHECK(smtp::forwarded_sender(off, "s@client.test", 1577836860).value() == "s@client.test");
    auto on = test::config_from(base + "srs_domain = fwd.mx.test\nsrs_secrets = " + secrets + "\n");
    long now = 1577836860;
    CHECK(smtp::forwarded_sender(on, "s@client.test", now).value() ==
          mail::srs::Codec("fwd.mx.test", {"s3cret"}).forward("s@client.test", now));
    CHECK(smtp::forwarded_sender(on, "s@client.test", now).value().starts_with("SRS0="));
    // Our own domains, the null sender and an unqualified one: unchanged.
    CHECK(smtp::forwarded_sender(on, "u@MX.test", now).value() == "u@MX.test");
    CHECK(smtp::forwarded_sender(on, "u@hosted.test", now).value() == "u@hosted.test");
    CHECK(smtp::forwarded_sender(on, "u@fwd.mx.test", now).value() == "u@fwd.mx.test");
    CHECK(smtp::forwarded_sender(on, "", now).value().empty());
    // Secrets that cannot be used are an error (the delivery is deferred), never a plain sender.
    ::chmod(secrets.c_str(), 0604);
    auto err = smtp::forwarded_sender(on, "s@client.test", now);
    REQUIRE(!err);
    CHECK(err.error().text == "srs_secrets: " + secrets + ": readable by others; make it mode 0640 or 0600");
    auto none = test::config_from(base + "srs_domain = fwd.mx.test\n");
    CHECK(smtp::forwarded_sender(none, "s@client.test", now).error().text == "srs_secrets: empty, but srs_domain is set");
}
