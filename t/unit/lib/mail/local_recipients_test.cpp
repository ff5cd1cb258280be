#include "mail/local_recipients.hpp"
#include "test_util.hpp"
#include "util/db_map.hpp"

#include <catch2/catch.hpp>

using namespace kurir;

namespace {
bool only_alice(const std::string& user) { return user == "alice"; }
}  // namespace

TEST_CASE("local recipient keys: address, without extension, local part, without extension") {
    CHECK(mail::local_recipient_keys("Bob+Tag@MX.test", "+") ==
          std::vector<std::string>{"bob+tag@mx.test", "bob@mx.test", "bob+tag", "bob"});
    CHECK(mail::local_recipient_keys("bob@mx.test", "+") == std::vector<std::string>{"bob@mx.test", "bob"});
    CHECK(mail::local_recipient_keys("bob-x@mx.test", "+-") ==
          std::vector<std::string>{"bob-x@mx.test", "bob@mx.test", "bob-x", "bob"});
    CHECK(mail::local_recipient_keys("+x@mx.test", "+") == std::vector<std::string>{"+x@mx.test", "+x"});
    CHECK(mail::local_recipient_keys("bob+x@mx.test", "") == std::vector<std::string>{"bob+x@mx.test", "bob+x"});
}

TEST_CASE("postmaster is always a recipient") {
    CHECK(mail::is_postmaster("postmaster@mx.test"));
    CHECK(mail::is_postmaster("PostMaster@mx.test"));
    CHECK(mail::is_postmaster("postmaster"));
    CHECK(!mail::is_postmaster("postmaster2@mx.test"));
    auto cfg = test::config_from("local_recipient_maps = unix:passwd.byname\n");
    auto locals = mail::LocalRecipients::from_config(cfg, only_alice);
    REQUIRE(locals);
    CHECK(locals->exists(cfg, "POSTMASTER@mx.test").value());
}

TEST_CASE("local_recipient_maps: passwd, then every table; alias-only names exist") {
    test::TempDir dir;
    std::string aliases = dir.path() + "/aliases";
    REQUIRE(util::build_db(aliases + ".db", util::DbType::hash, {{"sales", "alice"}, {"carol@mx.test", "x"}}));
    auto cfg = test::config_from("recipient_delimiter = +\nalias_maps = hash:" + aliases +
                      "\nlocal_recipient_maps = unix:passwd.byname $alias_maps\n");
    auto locals = mail::LocalRecipients::from_config(cfg, only_alice);
    REQUIRE(locals);
    CHECK(locals->enabled());
    CHECK(locals->exists(cfg, "alice@mx.test").value());
    CHECK(locals->exists(cfg, "Alice+news@mx.test").value());
    CHECK(locals->exists(cfg, "sales@mx.test").value());
    CHECK(locals->exists(cfg, "sales+x@mx.test").value());
    CHECK(locals->exists(cfg, "carol@mx.test").value());
    CHECK(!locals->exists(cfg, "carol@other.test").value());
    CHECK(!locals->exists(cfg, "mallory@mx.test").value());
}

TEST_CASE("local_recipient_maps: empty is no validation; a missing table is an error, not unknown") {
    auto off = test::config_from("local_recipient_maps =\n");
    auto none = mail::LocalRecipients::from_config(off, only_alice);
    REQUIRE(none);
    CHECK(!none->enabled());

    test::TempDir dir;
    auto cfg = test::config_from("local_recipient_maps = unix:passwd.byname hash:" + dir.path() + "/missing\n");
    auto locals = mail::LocalRecipients::from_config(cfg, only_alice);
    REQUIRE(locals);
    CHECK(locals->exists(cfg, "alice@mx.test").value());  // passwd answers first
    auto unknown = locals->exists(cfg, "mallory@mx.test");
    REQUIRE(!unknown);
    CHECK(unknown.error().text.find("local_recipient_maps") != std::string::npos);

    CHECK(!mail::LocalRecipients::from_config(test::config_from("local_recipient_maps = nosuch:/x\n"), only_alice));
}

TEST_CASE("local_recipient_maps: a regexp: table sees the whole address only") {
    test::TempDir dir;
    test::spit(dir / "users", "/^(sales|info)@mx\\.test$/ ok\n/^bob$/ ok\n/^bob@/ ok\n");
    auto cfg = test::config_from("recipient_delimiter = +\nlocal_recipient_maps = regexp:" + (dir / "users") + "\n");
    auto locals = mail::LocalRecipients::from_config(cfg, only_alice);
    REQUIRE(locals);
    CHECK(locals->exists(cfg, "sales@mx.test").value());
    CHECK(locals->exists(cfg, "bob@mx.test").value());
    // bob+x@mx.test's partial keys (bob@mx.test, bob+x, bob) are not asked.
    CHECK(!locals->exists(cfg, "bob+x@mx.test").value());
    CHECK(!locals->exists(cfg, "sales+x@mx.test").value());
    CHECK(locals->exists(cfg, "bob").value());  // a name without a domain is its whole key
}
