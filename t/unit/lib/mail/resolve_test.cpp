#include "mail/resolve.hpp"

#include "test_util.hpp"
#include "util/db_map.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

namespace {
Config config(const std::string& extra = "") {
    auto c = Config::from_text("myhostname = mx.example\n"
                               "mydomain = example\n"
                               "mydestination = $myhostname, localhost.$mydomain, LocalHost\n"
                               "recipient_delimiter = +\n" +
                                   extra,
                               "/tmp/x");
    if (!c) FAIL(c.error().text);
    return std::move(*c);
}
}  // namespace

TEST_CASE("canonical_address appends @$myorigin to bare names", "[resolve]") {
    Config c = config();
    struct Case {
        std::string in, out;
    };
    std::vector<Case> cases = {
        {"", ""},  // <> stays empty
        {"user", "user@mx.example"},
        {"user@", "user@mx.example"},
        {"user@host.example", "user@host.example"},
        {"User@Host.Example", "User@Host.Example"},
        {"user@host.example.", "user@host.example"},
        {"john doe@x", "john doe@x"},
    };
    for (const auto& k : cases) {
        INFO(k.in);
        CHECK(canonical_address(c, k.in) == k.out);
    }
    Config origin = config("myorigin = example.org\n");
    CHECK(canonical_address(origin, "user") == "user@example.org");
    Config via = config("myorigin = $mydomain\n");
    CHECK(canonical_address(via, "root") == "root@example");
}

TEST_CASE("append_dot_mydomain (default no, as Postfix 3) and append_at_myorigin", "[resolve]") {
    CHECK(canonical_address(config(), "u@host") == "u@host");
    Config dot = config("mydomain = example.org\nappend_dot_mydomain = yes\n");
    CHECK(canonical_address(dot, "u@host") == "u@host.example.org");
    CHECK(canonical_address(dot, "u@host.") == "u@host.example.org");
    CHECK(canonical_address(dot, "u@host.example.net") == "u@host.example.net");
    CHECK(canonical_address(dot, "u@[192.0.2.1]") == "u@[192.0.2.1]");
    CHECK(canonical_address(dot, "u") == "u@mx.example");  // myorigin has its dots
    Config bare = config("append_at_myorigin = no\n");
    CHECK(canonical_address(bare, "u") == "u");
}

TEST_CASE("is_local_domain compares with mydestination, ignoring case", "[resolve]") {
    Config c = config();
    for (std::string d : std::vector<std::string>{"mx.example", "MX.Example", "localhost.example", "localhost", "LOCALHOST"}) {
        INFO(d);
        CHECK(is_local_domain(c, d));
    }
    for (std::string d : std::vector<std::string>{"", "example", "other.example", "mx.example.org", "x.mx.example"}) {
        INFO(d);
        CHECK(!is_local_domain(c, d));
    }
    Config none = config("mydestination =\n");
    CHECK(!is_local_domain(none, "mx.example"));
}

TEST_CASE("mailbox_user lowercases and strips the extension", "[resolve]") {
    Config c = config();
    struct Case {
        std::string rcpt, user;
    };
    std::vector<Case> cases = {
        {"user@mx.example", "user"},
        {"User+Ext@mx.example", "user"},
        {"a+b+c@x", "a"},
        {"+ext@x", "+ext"},  // nothing before the delimiter: kept
        {"Alice", "alice"},
        {"bob-smith@x", "bob-smith"},
        {"a@b@c", "a@b"},
    };
    for (const auto& k : cases) {
        INFO(k.rcpt);
        CHECK(mailbox_user(c, k.rcpt) == k.user);
    }
    Config two = config("recipient_delimiter = +-\n");
    CHECK(mailbox_user(two, "bob-smith@x") == "bob");
    CHECK(mailbox_user(two, "bob+x-y@x") == "bob");
    Config none = config("recipient_delimiter =\n");
    CHECK(mailbox_user(none, "User+Ext@x") == "user+ext");
}

TEST_CASE("resolve_address: local for mydestination, else smtp", "[resolve]") {
    Config c = config();
    struct Case {
        std::string in, transport, nexthop, recipient;
    };
    std::vector<Case> cases = {
        {"user", "local", "mx.example", "user@mx.example"},
        {"user@MX.EXAMPLE", "local", "mx.example", "user@MX.EXAMPLE"},
        {"root@localhost", "local", "mx.example", "root@localhost"},
        {"u+x@localhost.example.", "local", "mx.example", "u+x@localhost.example"},
        {"u@remote.example", "smtp", "remote.example", "u@remote.example"},
        {"u@Remote.Example", "smtp", "remote.example", "u@Remote.Example"},
    };
    for (const auto& k : cases) {
        INFO(k.in);
        Resolved r = resolve_address(c, k.in).value();
        CHECK(r.transport == k.transport);
        CHECK(r.nexthop == k.nexthop);
        CHECK(r.recipient == k.recipient);
        CHECK(r.flags.empty());
    }
    Config relay = config("relayhost = [relay.example]:587\n");
    Resolved r = resolve_address(relay, "u@remote.example").value();
    CHECK(r.transport == "smtp");
    CHECK(r.nexthop == "[relay.example]:587");
    CHECK(r.recipient == "u@remote.example");
    Resolved l = resolve_address(relay, "u@mx.example").value();
    CHECK(l.transport == "local");  // a relayhost does not capture local mail
}

TEST_CASE("resolve_address: transport_maps by address, domain, parent domain, wildcard", "[resolve]") {
    kurir::test::TempDir dir;
    std::string src = dir.path() + "/transport";
    REQUIRE(kurir::util::build_db(src + ".db", kurir::util::DbType::hash,
                                  {{"special@remote.example", "smtp:[127.0.0.1]:2526"},
                                   {"remote.example", "smtp:[10.0.0.1]"},
                                   {".sub.example", "relay:gw.example:587"},
                                   {"nexthop-only.example", ":[192.0.2.7]"},
                                   {"transport-only.example", "smtp:"},
                                   {"err.example", "error:5.1.1 no mail here"},
                                   {"plain-error.example", "error:"},
                                   {"later.example", "retry:4.4.1 maintenance"},
                                   {"broken.example", "smtp:[oops"}}));
    auto maps = MapList::open({"hash:" + src});
    REQUIRE(maps);
    Config c = config("relayhost = [relay.example]\n");
    struct Case {
        std::string in, transport, nexthop;
    };
    for (const auto& k : std::vector<Case>{{"Special@Remote.Example", "smtp", "[127.0.0.1]:2526"},
                                           {"other@remote.example", "smtp", "[10.0.0.1]"},
                                           {"u@a.sub.example", "relay", "gw.example:587"},
                                           {"u@sub.example", "smtp", "[relay.example]"},
                                           {"u@nexthop-only.example", "smtp", "[192.0.2.7]"},
                                           {"u@transport-only.example", "smtp", "transport-only.example"},
                                           {"u@elsewhere.example", "smtp", "[relay.example]"},
                                           {"u@err.example", "error", "5.1.1 no mail here"},
                                           {"u@plain-error.example", "error", ""},
                                           {"u@later.example", "retry", "4.4.1 maintenance"},
                                           {"user@mx.example", "local", "mx.example"}}) {
        INFO(k.in);
        auto r = resolve_address(c, k.in, &*maps);
        REQUIRE(r);
        CHECK(r->transport == k.transport);
        CHECK(r->nexthop == k.nexthop);
    }
    CHECK_FALSE(resolve_address(c, "u@broken.example", &*maps));

    REQUIRE(kurir::util::build_db(src + ".db", kurir::util::DbType::hash, {{"*", "smtp:[192.0.2.9]"}}));
    maps = MapList::open({"hash:" + src});
    REQUIRE(maps);
    CHECK(resolve_address(c, "u@anything.example", &*maps)->nexthop == "[192.0.2.9]");
}

TEST_CASE("resolve_address: a pcre: transport table sees the whole address and \"*\", not the domains", "[resolve]") {
    kurir::test::TempDir dir;
    std::string src = dir.path() + "/transport";
    kurir::test::spit(src, "/^[^@]+@(sub\\.)?remote\\.example$/ smtp:[127.0.0.1]:2526\n"
                           "/^[a-z.]*remote\\.example$/ smtp:[192.0.2.66]\n"
                           "/^\\*$/ smtp:[192.0.2.9]\n");
    auto maps = MapList::open({"pcre:" + src});
    REQUIRE(maps);
    REQUIRE(maps->warnings().empty());
    Config c = config("");
    CHECK(resolve_address(c, "u@remote.example", &*maps)->nexthop == "[127.0.0.1]:2526");
    CHECK(resolve_address(c, "u@sub.remote.example", &*maps)->nexthop == "[127.0.0.1]:2526");
    // "x.remote.example" alone is a partial key: the rule for domains never fires.
    CHECK(resolve_address(c, "u@x.remote.example", &*maps)->nexthop == "[192.0.2.9]");
}
