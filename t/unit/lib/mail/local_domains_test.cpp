#include "mail/local_domains.hpp"
#include "mail/resolve.hpp"
#include "test_util.hpp"
#include "util/indexed_map.hpp"

#include <catch2/catch.hpp>

using namespace kurir;

TEST_CASE("mydestination: names, and tables whose keys are local domains", "[tables]") {
    test::TempDir dir;
    REQUIRE(util::build_indexed(dir / "domains", util::DbType::lmdb, {{"Hosted.test", "ok"}}));
    auto cfg = test::config_from("myhostname = mx.test\nmydestination = $myhostname, localhost, lmdb:" + (dir / "domains") + "\n");
    CHECK(mail::local_domain_matches(cfg, "mx.test").value());
    CHECK(mail::local_domain_matches(cfg, "LOCALHOST").value());
    CHECK(mail::local_domain_matches(cfg, "hosted.TEST").value());
    CHECK(!mail::local_domain_matches(cfg, "sub.hosted.test").value());  // no parent matching
    CHECK(!mail::local_domain_matches(cfg, "remote.test").value());
    CHECK(mail::is_local_domain(cfg, "hosted.test"));
    auto r = mail::resolve_address(cfg, "user@hosted.test");
    REQUIRE(r);
    CHECK(r->transport == "local");

    // A table that cannot answer is an error (the caller defers), never "remote".
    auto broken = test::config_from("mydestination = mx.test, lmdb:" + (dir / "missing") + "\n");
    auto e = mail::local_domain_matches(broken, "hosted.test");
    REQUIRE(!e);
    CHECK(e.error().text.find("missing.lmdb") != std::string::npos);
    auto res = mail::resolve_address(broken, "user@hosted.test");
    REQUIRE(!res);
    CHECK(res.error().text.starts_with("mydestination: "));
    CHECK(!mail::is_local_domain(broken, "hosted.test"));
}
