#include "mail/log_config.hpp"

#include <catch2/catch.hpp>

using namespace kurir;

TEST_CASE("log_setup: syslog_facility by Postfix's names, an unknown one named", "[syslog]") {
    auto cfg = mail::Config::from_text("syslog_facility = local3\nsyslog_name = kurir/submission\n", "/tmp");
    REQUIRE(cfg);
    auto s = mail::log_setup(*cfg, "smtpd");
    REQUIRE(s);
    CHECK(s->facility == 19 << 3);
    CHECK(s->syslog_name == "kurir/submission");
    CHECK(s->file.empty());
    auto bad = mail::Config::from_text("syslog_facility = mial\n", "/tmp");
    REQUIRE(bad);
    auto e = mail::log_setup(*bad, "smtpd");
    REQUIRE_FALSE(e);
    CHECK(e.error().text == "syslog_facility mial: unknown syslog facility");
}
