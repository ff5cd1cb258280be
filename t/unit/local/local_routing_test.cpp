// local's routing knobs: mailbox_transport(_maps), fallback_transport(_maps)
// and luser_relay, as pure decisions and through the Expander with a
// recording hand-over and forwarder (nothing touches a mailbox).
#include "local/local_alias.hpp"
#include "local/local_routing.hpp"

#include "../test_util.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace kurir;
namespace kt = kurir::test;

namespace {

struct Tables {
    kt::TempDir dir;
    mail::MapList none = *mail::MapList::open({});
    std::optional<mail::MapList> mbox, fallback;

    Tables(const std::string& mbox_text = "", const std::string& fallback_text = "") {
        auto open = [&](const std::string& name, const std::string& text) {
            if (text.empty()) return *mail::MapList::open({});
            kt::spit(dir / name, text);
            auto m = mail::MapList::open({"texthash:" + (dir / name)});
            REQUIRE(m);
            return std::move(*m);
        };
        mbox = open("mbox", mbox_text);
        fallback = open("fallback", fallback_text);
    }
    local::RoutingTables tables() const { return {*mbox, *fallback}; }
};

mail::Config config(const std::string& extra) {
    auto cfg = mail::Config::from_text(
        "myhostname = mx.test\nmydestination = mx.test\nrecipient_delimiter = +\n" + extra, "/nonexistent");
    REQUIRE(cfg);
    return std::move(*cfg);
}

}  // namespace

TEST_CASE("route_mailbox: Postfix local(8)'s order", "[local_routing]") {
    using K = local::MailboxRoute::Kind;
    Tables t("special lmtp:inet:127.0.0.1:2424\n", "ghost error:gone\n");
    SECTION("nothing set: local's own mailbox, known or not") {
        auto cfg = config("");
        CHECK(local::route_mailbox(cfg, t.tables(), "bob@mx.test", true)->kind == K::mailbox);
        CHECK(local::route_mailbox(cfg, t.tables(), "nobody@mx.test", false)->kind == K::mailbox);
    }
    SECTION("mailbox_transport_maps, then mailbox_transport, for every user") {
        auto cfg = config("mailbox_transport = lmtp:unix:private/dovecot-lmtp\nfallback_transport = x\n");
        auto r = local::route_mailbox(cfg, t.tables(), "special+ext@mx.test", true);
        REQUIRE(r);
        CHECK(r->kind == K::transport);
        CHECK(r->value == "lmtp:inet:127.0.0.1:2424");
        r = local::route_mailbox(cfg, t.tables(), "bob@mx.test", true);
        CHECK(r->value == "lmtp:unix:private/dovecot-lmtp");
        r = local::route_mailbox(cfg, t.tables(), "ghost@mx.test", false);
        CHECK(r->value == "lmtp:unix:private/dovecot-lmtp");
    }
    SECTION("unknown users: fallback_transport_maps, fallback_transport, then luser_relay") {
        auto cfg = config("fallback_transport = lmtp:unix:/run/lmtp\nluser_relay = admin\n");
        CHECK(local::route_mailbox(cfg, t.tables(), "ghost@mx.test", false)->value == "error:gone");
        CHECK(local::route_mailbox(cfg, t.tables(), "other@mx.test", false)->value == "lmtp:unix:/run/lmtp");
        CHECK(local::route_mailbox(cfg, t.tables(), "bob@mx.test", true)->kind == K::mailbox);
        auto lr = config("luser_relay = $user+$extension@relay.example\n");
        auto r = local::route_mailbox(lr, t.tables(), "Other+tag@mx.test", false);
        REQUIRE(r);
        CHECK(r->kind == K::luser_relay);
        CHECK(r->value == "other+tag@relay.example");
    }
    SECTION("a bad transport value defers with the parameter named") {
        auto cfg = config("mailbox_transport = lmtp:unix:\n");
        auto r = local::route_mailbox(cfg, t.tables(), "bob@mx.test", true);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().text, Catch::Contains("mailbox_transport"));
    }
}

TEST_CASE("expand_local_macros: luser_relay's names", "[local_routing]") {
    auto cfg = config("");
    auto x = [&](const char* text) { return local::expand_local_macros(text, cfg, "Joe+Sales@mx.test"); };
    CHECK(*x("$user") == "joe");
    CHECK(*x("${local}") == "Joe+Sales");
    CHECK(*x("$extension") == "Sales");
    CHECK(*x("$domain") == "mx.test");
    CHECK(*x("$recipient") == "Joe+Sales@mx.test");
    CHECK(*x("${user}${recipient_delimiter}${extension}@x") == "joe+Sales@x");
    CHECK(*x("${extension?has}${extension:none}") == "has");
    CHECK(*local::expand_local_macros("a${extension?+}$extension", cfg, "joe@mx.test") == "a");
    CHECK(*x("cost$$") == "cost$");
    CHECK_FALSE(x("$nosuch"));
    CHECK_FALSE(x("${user"));
    CHECK_FALSE(x("$"));
}

TEST_CASE("Expander: mailbox_transport hands the recipient over, once", "[local_routing]") {
    Tables t;
    auto cfg = config("mailbox_transport = lmtp:unix:private/dovecot-lmtp\n");
    auto aliases = mail::MapList::open({});
    REQUIRE(aliases);
    mail::QueueEnvelope env;
    env.sender = "s@client.test";
    local::Message msg{env, "Subject: x\n\nbody\n", "4jhx8r6SLH89sxY"};
    std::vector<std::pair<std::string, std::string>> passed;
    auto tables = t.tables();
    local::Expander e(
        cfg, *aliases, msg, [](const std::string&, const std::string&) { return local::DeliveryStatus{"5.0.0", "no"}; },
        [&](const std::string& transport, const std::string& rcpt) {
            passed.emplace_back(transport, rcpt);
            return local::DeliveryStatus{"2.0.0", "250 2.0.0 <ivan@mx.test> Saved"};
        },
        &tables);
    auto st = e.deliver("ivan@mx.test");
    CHECK(st.dsn == "2.0.0");
    CHECK(st.text == "250 2.0.0 <ivan@mx.test> Saved");
    CHECK(e.passed_only());
    CHECK(passed ==
          std::vector<std::pair<std::string, std::string>>{{"lmtp:unix:private/dovecot-lmtp", "ivan@mx.test"}});
}

TEST_CASE("Expander: luser_relay takes unknown users; an unknown relay address is a loop", "[local_routing]") {
    Tables t;
    auto aliases = mail::MapList::open({});
    REQUIRE(aliases);
    mail::QueueEnvelope env;
    env.sender = "s@client.test";
    local::Message msg{env, "Subject: x\n\nbody\n", "4jhx8r6SLH89sxY"};
    std::vector<std::string> forwarded;
    auto tables = t.tables();
    auto run = [&](const std::string& relay, const std::string& rcpt) {
        auto cfg = config("luser_relay = " + relay + "\n");
        local::Expander e(
            cfg, *aliases, msg,
            [&](const std::string& target, const std::string&) {
                forwarded.push_back(target);
                return local::DeliveryStatus{"2.0.0", "forwarded"};
            },
            {}, &tables);
        return e.deliver(rcpt);
    };
    // No passwd account has these names.
    auto st = run("$user@relay.example", "kurir-no-such-user+x@mx.test");
    CHECK(st.ok());
    CHECK(forwarded == std::vector<std::string>{"kurir-no-such-user@relay.example"});
    st = run("kurir-no-such-relay", "kurir-no-such-user@mx.test");
    CHECK(st.dsn == "5.4.6");
}
