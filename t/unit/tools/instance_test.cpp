#include "tools/instance.hpp"

#include "mail/config.hpp"
#include "mail/main_cf.hpp"
#include "mail/master_cf.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace kurir;
using namespace kurir::tools;

TEST_CASE("instance_main_cf parses and names the instance's directories", "[instance]") {
    InstanceChoices c{"/srv/kurir", "127.0.0.1:2525", "mx.example", "mailer", "mailnobody"};
    std::string text = instance_main_cf(c);
    auto entries = mail::parse_main_cf(text, "main.cf");
    REQUIRE(entries);
    std::map<std::string, std::string> v;
    for (const auto& e : *entries) {
        CHECK(v.count(e.name) == 0);  // each parameter once
        v[e.name] = e.value;
    }
    CHECK(v["queue_directory"] == "/srv/kurir/queue");
    CHECK(v["mail_spool_directory"] == "/srv/kurir/mail/");
    CHECK(v["maillog_file"] == "/srv/kurir/log/maillog");
    CHECK(v["mail_owner"] == "mailer");
    CHECK(v["default_privs"] == "mailnobody");
    CHECK(v.count("local_recipient_maps") == 1);
    CHECK(v["local_recipient_maps"].empty());
    CHECK(v["myhostname"] == "mx.example");
    // INTERFACE.md: "kurir-alias FILE builds FILE.db": new instances keep
    // default_database_type = hash until the contract says otherwise.
    CHECK(v.count("default_database_type") == 0);

    auto cfg = mail::Config::from_text(text, "/srv/kurir");
    REQUIRE(cfg);
    CHECK(cfg->warnings().empty());
    CHECK(cfg->str("queue_directory") == "/srv/kurir/queue");
    CHECK(cfg->list("mydestination") == std::vector<std::string>{"mx.example", "localhost"});
    CHECK(cfg->str("alias_maps") == "hash:/srv/kurir/aliases");

    c.hostname.clear();
    auto without = mail::parse_main_cf(instance_main_cf(c), "main.cf");
    REQUIRE(without);
    for (const auto& e : *without) CHECK(e.name != "myhostname");
}

TEST_CASE("instance_master_cf parses and has the listen address", "[instance]") {
    for (std::string listen : std::vector<std::string>{"127.0.0.1:2525", "0.0.0.0:25", "[2001:db8::1]:2525", "localhost:10025"}) {
        INFO(listen);
        InstanceChoices c{"/srv/kurir", listen, "", "kurir", "kurirnobody"};
        auto services = mail::parse_master_cf(instance_master_cf(c), "master.cf");
        REQUIRE(services);
        std::map<std::string, mail::ServiceEntry> by_name;
        for (const auto& s : *services) by_name[s.name] = s;
        REQUIRE(by_name.count(listen) == 1);
        const auto& smtp = by_name[listen];
        CHECK(smtp.type == mail::ServiceType::inet);
        CHECK(smtp.command == "smtpd");
        for (const char* name : {"cleanup", "qmgr", "rewrite", "local"}) {
            INFO(name);
            REQUIRE(by_name.count(name) == 1);
            CHECK(by_name[name].type == mail::ServiceType::unix_stream);
        }
        CHECK(by_name["rewrite"].command == "trivial-rewrite");
        CHECK(by_name["qmgr"].wakeup == 300);
        CHECK(by_name["qmgr"].maxproc == 1);
        CHECK(!by_name["qmgr"].private_);
        CHECK(by_name["cleanup"].maxproc == 0);
        CHECK(!by_name["local"].unprivileged);
    }
}

TEST_CASE("instance_aliases", "[instance]") {
    std::string a = instance_aliases();
    CHECK_THAT(a, Catch::Contains("\npostmaster: root\n"));
    CHECK_THAT(a, Catch::Contains("\nMAILER-DAEMON: postmaster\n"));
}
