#include "mail/domain_list.hpp"
#include "mail/relay_recipients.hpp"
#include "mail/resolve.hpp"
#include "test_util.hpp"
#include "util/db_map.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace kurir;

TEST_CASE("domain list: names match themselves and subdomains, .names subdomains only, first match decides",
          "[domain_list]") {
    auto cfg = test::config_from("");
    auto list = mail::DomainList::from_items("relay_domains", {"!no.example.com", "Example.COM", ".sub.test"});
    REQUIRE(list);
    CHECK(list->matches(cfg, "example.com").value());
    CHECK(list->matches(cfg, "MX.Example.com.").value());
    CHECK(!list->matches(cfg, "badexample.com").value());
    CHECK(!list->matches(cfg, "no.example.com").value());
    CHECK(!list->matches(cfg, "x.no.example.com").value());
    CHECK(!list->matches(cfg, "sub.test").value());
    CHECK(list->matches(cfg, "a.sub.test").value());
    CHECK(!list->matches(cfg, "").value());
    CHECK(!list->matches(cfg, "com").value());
    auto empty = mail::DomainList::from_items("relay_domains", {});
    REQUIRE(empty);
    CHECK(empty->empty());
    CHECK(!empty->matches(cfg, "example.com").value());
}

TEST_CASE("domain list: /file/name patterns and type:table lookups by domain and parent", "[domain_list]") {
    test::TempDir dir;
    std::ofstream(dir.path() + "/names") << "# comment\nfile.test, two.test\n  three.test # trailing\n";
    REQUIRE(util::build_db(dir.path() + "/table.db", util::DbType::hash, {{"table.test", "x"}}));
    auto cfg = test::config_from("");
    auto list = mail::DomainList::from_items(
        "relay_domains", {dir.path() + "/names", "hash:" + dir.path() + "/table", "!/nonexistent-is-not-read-late"});
    CHECK(!list);  // a /file that cannot be read is an error at load, with the parameter's name
    CHECK(list.error().text.find("relay_domains") != std::string::npos);
    list = mail::DomainList::from_items("relay_domains", {dir.path() + "/names", "hash:" + dir.path() + "/table"});
    REQUIRE(list);
    CHECK(list->matches(cfg, "file.test").value());
    CHECK(list->matches(cfg, "three.test").value());
    CHECK(!list->matches(cfg, "comment").value());
    CHECK(list->matches(cfg, "table.test").value());
    CHECK(list->matches(cfg, "deep.sub.table.test").value());
    CHECK(!list->matches(cfg, "other.test").value());

    auto missing = mail::DomainList::from_items("relay_domains", {"hash:" + dir.path() + "/missing"});
    REQUIRE(missing);
    auto answer = missing->matches(cfg, "x.test");
    REQUIRE(!answer);  // never "not ours" when the table cannot say
    CHECK(answer.error().text.find("relay_domains") != std::string::npos);
    CHECK(!mail::DomainList::from_items("relay_domains", {"nosuchtype:/x"}));
}

TEST_CASE("relay recipient keys: address, without extension, @domain", "[domain_list]") {
    CHECK(mail::relay_recipient_keys("Bob+Tag@Relay.test", "+") ==
          std::vector<std::string>{"bob+tag@relay.test", "bob@relay.test", "@relay.test"});
    CHECK(mail::relay_recipient_keys("bob@relay.test", "+") == std::vector<std::string>{"bob@relay.test", "@relay.test"});
    CHECK(mail::relay_recipient_keys("+x@relay.test", "+") == std::vector<std::string>{"+x@relay.test", "@relay.test"});
}

TEST_CASE("relay_recipient_maps: empty is no validation; tables answer; a missing table is an error",
          "[domain_list]") {
    auto off = mail::RecipientTable::from_config(test::config_from(""), "relay_recipient_maps");
    REQUIRE(off);
    CHECK(!off->enabled());
    test::TempDir dir;
    REQUIRE(util::build_db(dir.path() + "/r.db", util::DbType::hash, {{"known@relay.test", "x"}, {"@all.test", "x"}}));
    auto cfg = test::config_from("recipient_delimiter = +\nrelay_recipient_maps = hash:" + dir.path() + "/r\n");
    auto on = mail::RecipientTable::from_config(cfg, "relay_recipient_maps");
    REQUIRE(on);
    CHECK(on->enabled());
    CHECK(on->exists(cfg, "known+x@relay.test").value());
    CHECK(on->exists(cfg, "anyone@all.test").value());
    CHECK(!on->exists(cfg, "other@relay.test").value());
    auto broken = test::config_from("relay_recipient_maps = hash:" + dir.path() + "/missing\n");
    auto b = mail::RecipientTable::from_config(broken, "relay_recipient_maps");
    REQUIRE(b);
    CHECK(!b->exists(broken, "known@relay.test"));
}

TEST_CASE("resolve: relay_domains go to relay_transport, its nexthop, else relayhost, else the domain",
          "[domain_list]") {
    auto list = mail::DomainList::from_items("relay_domains", {"relay.test"});
    REQUIRE(list);
    auto plain = test::config_from("mydestination = mx.test\n");
    auto r = mail::resolve_address(plain, "u@relay.test", nullptr, &*list);
    REQUIRE(r);
    CHECK(r->transport == "relay");
    CHECK(r->nexthop == "relay.test");
    auto other = mail::resolve_address(plain, "u@far.test", nullptr, &*list);
    REQUIRE(other);
    CHECK(other->transport == "smtp");

    auto via = test::config_from("mydestination = mx.test\nrelayhost = [gw.test]\n");
    CHECK(mail::resolve_address(via, "u@relay.test", nullptr, &*list)->nexthop == "[gw.test]");
    auto own = test::config_from("mydestination = mx.test\nrelayhost = [gw.test]\nrelay_transport = smtp:[backup.test]:26\n");
    auto o = mail::resolve_address(own, "u@relay.test", nullptr, &*list);
    REQUIRE(o);
    CHECK(o->transport == "smtp");
    CHECK(o->nexthop == "[backup.test]:26");
    // A local domain stays local even when relay_domains names it too.
    auto both = mail::DomainList::from_items("relay_domains", {"mx.test"});
    CHECK(mail::resolve_address(plain, "u@mx.test", nullptr, &*both)->transport == "local");
}

TEST_CASE("resolve: an address left in a virtual alias domain bounces as Postfix's, before virtual and relay",
          "[domain_list]") {
    auto alias = mail::DomainList::from_items("virtual_alias_domains", {"alias.test", "mx.test"}, false);
    auto virt = mail::DomainList::from_items("virtual_mailbox_domains", {"alias.test"}, false);
    auto relay = mail::DomainList::from_items("relay_domains", {"alias.test"});
    REQUIRE(alias);
    REQUIRE(virt);
    REQUIRE(relay);
    auto cfg = test::config_from("mydestination = mx.test\n");
    auto r = mail::resolve_address(cfg, "u@alias.test", nullptr, &*relay, &*virt, &*alias);
    REQUIRE(r);
    CHECK(r->transport == "error");
    CHECK(r->nexthop == "5.1.1 User unknown in virtual alias table");
    CHECK(r->recipient == "u@alias.test");
    CHECK(mail::resolve_address(cfg, "u@mx.test", nullptr, &*relay, &*virt, &*alias)->transport == "local");
    CHECK(mail::resolve_address(cfg, "u@sub.alias.test", nullptr, &*relay, &*virt, &*alias)->transport == "relay");
}
