// local's alias expansion in memory: a real alias table, the Expander, and
// a forwarder that records what would go to cleanup. Nothing here touches
// a mailbox, so it runs as any user.
#include "local/local_alias.hpp"

#include "../test_util.hpp"
#include "util/db_map.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace kurir;
namespace kt = kurir::test;

namespace {

struct Fixture {
    kt::TempDir dir;
    mail::Config cfg;
    std::optional<mail::MapList> aliases;
    mail::QueueEnvelope env;
    std::map<std::string, int> forwarded;  // target -> copies
    std::vector<std::string> delivered_to;

    explicit Fixture(std::vector<std::pair<std::string, std::string>> table) {
        REQUIRE(util::build_db(dir / "aliases.db", util::DbType::hash, table));
        cfg = *mail::Config::from_text("myhostname = mx.test\nmydestination = mx.test\nalias_maps = hash:" +
                                           (dir / "aliases") + "\n",
                                       dir.path());
        auto opened = mail::MapList::open({"hash:" + (dir / "aliases")});
        REQUIRE(opened);
        aliases = std::move(*opened);
        env.sender = "s@client.test";
    }

    local::DeliveryStatus deliver(const std::string& rcpt) {
        local::Message msg{env, "Subject: x\n\nbody\n", "4jhx8r6SLH89sxY"};
        local::Expander expander(cfg, *aliases, msg, [&](const std::string& target, const std::string& via) {
            forwarded[target]++;
            delivered_to.push_back(via);
            return local::DeliveryStatus{"2.0.0", "forwarded as 4jhx8r6SLH89sxZ"};
        });
        return expander.deliver(rcpt);
    }
};

}  // namespace

TEST_CASE("alias expansion: remote members are forwarded, each once", "[local_alias]") {
    Fixture f({{"team", "a@remote.example, b@remote.example"},
               {"all", "team, a@remote.example, c@remote.example, team"}});
    auto st = f.deliver("all@mx.test");
    CHECK(st.ok());
    CHECK(f.forwarded == std::map<std::string, int>{{"a@remote.example", 1}, {"b@remote.example", 1},
                                                   {"c@remote.example", 1}});
}

TEST_CASE("alias expansion: an alias naming itself through another bounces 5.4.6", "[local_alias]") {
    Fixture f({{"ping", "pong"}, {"pong", "ping"}});
    auto st = f.deliver("ping@mx.test");
    CHECK(st.dsn == "5.4.6");
    CHECK(st.text.find("mail forwarding loop") != std::string::npos);
    CHECK(f.forwarded.empty());
}

TEST_CASE("alias expansion: keys are case-insensitive and the extension is kept off the lookup", "[local_alias]") {
    Fixture f(std::vector<std::pair<std::string, std::string>>{{"sales", "s1@remote.example"}});
    CHECK(f.deliver("Sales@mx.test").ok());
    CHECK(f.forwarded["s1@remote.example"] == 1);
}
