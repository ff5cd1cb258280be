#include "mail/config.hpp"

#include <catch2/catch.hpp>
#include <malloc.h>

using namespace kurir::mail;

namespace {
Config must(std::string_view text, const std::vector<std::string>& overrides = {}) {
    auto c = Config::from_text(text, "/tmp/x", overrides);
    if (!c) FAIL("Config::from_text: " << c.error().text);
    return std::move(*c);
}
}  // namespace

TEST_CASE("parse_time: units and the default unit", "[config]") {
    struct Case {
        std::string text;
        char unit;
        long seconds;
    };
    std::vector<Case> cases = {
        {"0", 's', 0},        {"10s", 's', 10},       {"5m", 's', 300},     {"2h", 's', 7200},
        {"1d", 's', 86400},   {"1w", 's', 604800},    {"7", 's', 7},        {"7", 'm', 420},
        {"7", 'h', 25200},    {"5", 'd', 432000},     {"2", 'w', 1209600},  {"3600s", 'h', 3600},
        {"0h", 'd', 0},
    };
    for (const auto& c : cases) {
        INFO(c.text << " default unit " << c.unit);
        auto r = parse_time(c.text, c.unit);
        REQUIRE(r);
        CHECK(*r == c.seconds);
    }
}

TEST_CASE("parse_time: bad values", "[config]") {
    for (std::string bad : std::vector<std::string>{"", "s", "-5s", "-5", "10x", "10S", "1.5h", " 5", "5 ", "5 s", "h5", "0x10",
                            "99999999999999w", "9999999999999999999999"}) {
        INFO("\"" << bad << "\"");
        CHECK(!parse_time(bad, 's'));
    }
}

TEST_CASE("parse_integer and parse_bool", "[config]") {
    for (auto [text, v] : std::vector<std::pair<std::string, long>>{{"0", 0}, {"42", 42}, {"-3", -3},
                                                                    {"10240000", 10240000}}) {
        auto r = parse_integer(text);
        REQUIRE(r);
        CHECK(*r == v);
    }
    for (std::string bad : std::vector<std::string>{"", "4x", " 4", "4 ", "+4", "1e3", "0x10", "99999999999999999999999"}) {
        INFO("\"" << bad << "\"");
        auto r = parse_integer(bad);
        REQUIRE(!r);
        CHECK_THAT(r.error().text, Catch::Contains("bad integer"));
    }
    CHECK(parse_bool("yes").value() == true);
    CHECK(parse_bool("true").value() == true);
    CHECK(parse_bool("no").value() == false);
    CHECK(parse_bool("false").value() == false);
    for (std::string bad : std::vector<std::string>{"", "y", "n", "1", "0", "maybe", "yes "}) {
        INFO("\"" << bad << "\"");
        CHECK(!parse_bool(bad));
    }
}

TEST_CASE("split_list splits on commas and whitespace", "[config]") {
    using V = std::vector<std::string>;
    CHECK(split_list("") == V{});
    CHECK(split_list(" , \t,\n") == V{});
    CHECK(split_list("a") == V{"a"});
    CHECK(split_list("a, b\tc,,d\n e\r\nf") == V{"a", "b", "c", "d", "e", "f"});
    CHECK(split_list("127.0.0.0/8 [::1]/128") == V{"127.0.0.0/8", "[::1]/128"});
}

TEST_CASE("Config::from_text: values, defaults and expansion", "[config]") {
    Config c = must(
        "myhostname = mx.example\n"
        "mydomain = example.org\n"
        "myorigin = $mydomain\n"
        "message_size_limit = 1000\n"
        "smtpd_timeout = 10m\n"
        "bounce_queue_lifetime = 2\n"
        "delay_warning_time = 4\n"
        "mydestination = $myhostname, localhost.$mydomain\n");
    CHECK(c.config_dir() == "/tmp/x");
    CHECK(c.warnings().empty());
    CHECK(c.str("myhostname") == "mx.example");
    CHECK(c.str("myorigin") == "example.org");
    CHECK(c.str("config_directory") == "/tmp/x");
    CHECK(c.str("alias_maps") == "hash:/tmp/x/aliases");  // a default refers to another parameter
    CHECK(c.str("smtpd_banner") == "mx.example ESMTP kurir");
    CHECK(c.str("not_a_parameter").empty());
    CHECK(c.integer("message_size_limit") == 1000);
    CHECK(c.integer("hopcount_limit") == 50);               // default
    CHECK(c.seconds("smtpd_timeout") == 600);
    CHECK(c.seconds("bounce_queue_lifetime") == 2 * 86400);  // default unit d
    CHECK(c.seconds("delay_warning_time") == 4 * 3600);      // default unit h
    CHECK(c.seconds("queue_run_delay") == 300);
    CHECK(c.list("mydestination") == std::vector<std::string>{"mx.example", "localhost.example.org"});
    CHECK(c.explicit_values().count("myorigin") == 1);
    CHECK(c.explicit_values().at("myorigin") == "$mydomain");
    CHECK(c.explicit_values().count("relayhost") == 0);
    CHECK(c.raw().count("relayhost") == 1);
}

TEST_CASE("Config::from_text: mydomain defaults to the domain part of myhostname", "[config]") {
    CHECK(must("myhostname = mx.example.org\n").str("mydomain") == "example.org");
    CHECK(must("myhostname = mx\n").str("mydomain") == "localdomain");
    CHECK(must("myhostname = mx.example.org\nmydomain = other.net\n").str("mydomain") == "other.net");
    CHECK(must("", {"myhostname=relay.example.com"}).str("myorigin") == "relay.example.com");
    CHECK(must("", {"myhostname=relay.example.com"}).str("mydomain") == "example.com");
    // Without myhostname the host's own name is used for both.
    Config own = must("");
    CHECK(!own.str("myhostname").empty());
    CHECK(!own.str("mydomain").empty());
}

TEST_CASE("Config::from_text: overrides win over main.cf", "[config]") {
    Config c = must("myhostname = mx.example\nsmtpd_timeout = 10s\n",
                    {"myhostname=other.example", "smtpd_timeout = 5m", "relayhost= [relay.example]:25"});
    CHECK(c.str("myhostname") == "other.example");
    CHECK(c.seconds("smtpd_timeout") == 300);
    CHECK(c.str("relayhost") == "[relay.example]:25");
    CHECK(c.explicit_values().at("smtpd_timeout") == "5m");
    CHECK(c.str("smtpd_banner") == "other.example ESMTP kurir");

    auto bad = Config::from_text("", "/tmp/x", {"no-equals-sign"});
    REQUIRE(!bad);
    CHECK_THAT(bad.error().text, Catch::Contains("no-equals-sign"));
    auto bad_value = Config::from_text("", "/tmp/x", {"smtpd_timeout=forever"});
    REQUIRE(!bad_value);
    CHECK_THAT(bad_value.error().text, Catch::Contains("smtpd_timeout"));
}

TEST_CASE("Config::from_text: a value that does not fit its kind names file and line", "[config]") {
    struct Case {
        const char* what;
        std::string text;
        std::string where;
        std::string param;
    };
    std::vector<Case> cases = {
        {"bad integer", "myhostname = mx.example\nmessage_size_limit = 10k\n", "/tmp/x/main.cf:2", "message_size_limit"},
        {"bad time", "# c\n\nsmtpd_timeout = 10x\n", "/tmp/x/main.cf:3", "smtpd_timeout"},
        {"negative time", "max_idle = -1s\n", "/tmp/x/main.cf:1", "max_idle"},
        {"after an unknown name", "a_unknown = 1\nmax_use = maybe\n", "/tmp/x/main.cf:2", "max_use"},
        {"empty integer", "hopcount_limit =\n", "/tmp/x/main.cf:1", "hopcount_limit"},
        {"expansion to a bad integer", "x = abc\nhopcount_limit = $x\n", "/tmp/x/main.cf:2", "hopcount_limit"},
        {"unbalanced expansion", "myorigin = ${myhostname\n", "/tmp/x/main.cf:1", "unbalanced"},
        {"below minimum", "bounce_size_limit = 0\n", "/tmp/x/main.cf:1", "minimum"},
        {"below minimum (zero)", "\nhopcount_limit = 0\n", "/tmp/x/main.cf:2", "hopcount_limit"},
        {"below minimum (time)", "max_idle = 0\n", "/tmp/x/main.cf:1", "max_idle"},
        {"syntax error", "hello world\n", "/tmp/x/main.cf:1", "missing '='"},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            auto r = Config::from_text(c.text, "/tmp/x");
            REQUIRE(!r);
            CHECK_THAT(r.error().text, Catch::Contains(c.where));
            CHECK_THAT(r.error().text, Catch::Contains(c.param));
        }
    }
}

TEST_CASE("Config::from_text: values at the minimum are accepted", "[config]") {
    Config c = must("bounce_size_limit = 1\nhopcount_limit = 1\nmax_idle = 1s\nmessage_size_limit = 0\n");
    CHECK(c.integer("bounce_size_limit") == 1);
    CHECK(c.integer("hopcount_limit") == 1);
    CHECK(c.seconds("max_idle") == 1);
    CHECK(c.integer("message_size_limit") == 0);
}

TEST_CASE("Config::from_text: unknown parameters are warnings with file:line", "[config]") {
    Config c = must("myhostname = mx.example\n\nfoo_bar = 1\n# c\nbaz = 2\nmy_nets = 10.0.0.0/8\n"
                    "mynetworks = $my_nets\nqux = ${quux?x}\nquux = 3\n");
    REQUIRE(c.warnings().size() == 3);
    CHECK_THAT(c.warnings()[0], Catch::Contains("/tmp/x/main.cf:3"));
    CHECK_THAT(c.warnings()[0], Catch::Contains("unknown parameter foo_bar"));
    CHECK_THAT(c.warnings()[1], Catch::Contains("/tmp/x/main.cf:5"));
    CHECK_THAT(c.warnings()[1], Catch::Contains("baz"));
    CHECK_THAT(c.warnings()[2], Catch::Contains("/tmp/x/main.cf:8"));
    CHECK_THAT(c.warnings()[2], Catch::Contains("qux"));
    CHECK(c.refusals().empty());
    // Unknown names are still usable for expansion, and one that another
    // setting refers to ($my_nets, ${quux?...}) is no mistake.
    CHECK(c.str("mynetworks") == "10.0.0.0/8");
    CHECK(c.str("qux") == "x");
    // master.cf -o values may be what refers to a main.cf name.
    c.forgive_referenced({"$foo_bar", "$${baz}"});
    REQUIRE(c.warnings().size() == 2);
    CHECK_THAT(c.warnings()[0], Catch::Contains("baz"));
}

TEST_CASE("Config::from_text: a Postfix parameter kurir does not implement is a warning with file:line",
          "[config]") {
    Config c = must("biff = no\nmyhostname = mx.example\nin_flow_delay = 1s\n"
                    "smtpd_use_tls = no\nsmtpd_sasl_local_domain = x\n");
    REQUIRE(c.warnings().size() == 4);
    CHECK(c.warnings()[0] == "/tmp/x/main.cf:1: parameter biff is not implemented by kurir; ignored");
    CHECK_THAT(c.warnings()[1], Catch::Contains("/tmp/x/main.cf:3: parameter in_flow_delay is not implemented"));
    CHECK_THAT(c.warnings()[2], Catch::Contains("/tmp/x/main.cf:4: parameter smtpd_use_tls"));
    CHECK_THAT(c.warnings()[3], Catch::Contains("/tmp/x/main.cf:5: parameter smtpd_sasl_local_domain"));
    CHECK(c.refusals().empty());
    CHECK(c.str("biff") == "no");
}

TEST_CASE("Config::from_text: a setting that asks for security kurir lacks is a refusal with file:line",
          "[config]") {
    struct Case {
        std::string text;
        std::string expect;
    };
    std::vector<Case> cases = {
        {"# c\nsmtpd_use_tls = yes\n", "/tmp/x/main.cf:2: smtpd_use_tls = yes requests TLS"},
        {"on = yes\nsmtpd_use_tls = $on\n", "/tmp/x/main.cf:2: smtpd_use_tls = $on"},
        {"smtpd_use_tls = yes\n", "smtpd_use_tls = yes requests TLS"},
        {"smtpd_enforce_tls = YES\n", "smtpd_enforce_tls = YES requests TLS"},
        {"smtp_enforce_tls = yes\n", "smtp_enforce_tls = yes requests TLS"},
    };
    for (const auto& t : cases) {
        INFO(t.text);
        Config c = must(t.text);  // loads: kurir stop, kurir-conf and sendmail still work
        REQUIRE(c.refusals().size() == 1);
        CHECK_THAT(c.refusals()[0], Catch::Contains(t.expect));
        CHECK_THAT(c.refusals()[0], Catch::Contains("kurir will not run with it set"));
    }
}

TEST_CASE("Config::from_text: an override must name a parameter kurir knows", "[config]") {
    auto unknown = Config::from_text("", "/tmp/x", {"no_such_param=1"});
    REQUIRE(!unknown);
    CHECK_THAT(unknown.error().text, Catch::Contains("unknown parameter no_such_param"));
    auto use_tls = Config::from_text("", "/tmp/x", {"smtpd_use_tls=yes"});
    REQUIRE(!use_tls);
    CHECK_THAT(use_tls.error().text, Catch::Contains("-o smtpd_use_tls=yes requests TLS"));
    // smtpd's TLS is implemented: wrapper mode is an override like any other.
    auto wrapper = Config::from_text("", "/tmp/x", {"smtpd_tls_wrappermode=yes", "smtpd_tls_security_level=encrypt"});
    REQUIRE(wrapper);
    CHECK(wrapper->boolean("smtpd_tls_wrappermode"));
    auto typo = Config::from_text("", "/tmp/x", {"smtpd_tls_wrapermode=yes"});
    REQUIRE(!typo);
    CHECK_THAT(typo.error().text, Catch::Contains("unknown parameter smtpd_tls_wrapermode"));
    // SASL is implemented: a submission service's -o is taken.
    auto sasl = Config::from_text("", "/tmp/x", {"smtpd_sasl_auth_enable=yes"});
    REQUIRE(sasl);
    CHECK(sasl->boolean("smtpd_sasl_auth_enable"));
    Config c = must("", {"biff=no", "syslog_name=kurir/submission"});
    REQUIRE(c.warnings().size() == 1);
    CHECK_THAT(c.warnings()[0], Catch::Contains("-o biff=no: parameter biff is not implemented by kurir"));
    CHECK(c.str("syslog_name") == "kurir/submission");
}

TEST_CASE("check_service_options: master.cf -o with master.cf's file and line", "[config]") {
    auto services = [](std::string_view text) {
        auto e = parse_master_cf(text, "/tmp/x/master.cf");
        if (!e) FAIL(e.error().text);
        return *e;
    };
    std::string head = "# c\nsmtp inet n - n - - smtpd\n";
    struct Case {
        std::string line;
        std::string expect;
    };
    std::vector<Case> errors = {
        {"465 inet n - n - - smtpd -o smtpd_use_tls=yes\n",
         "/tmp/x/master.cf:3: service 465: -o smtpd_use_tls=yes requests TLS"},
        {"587 inet n - n - - smtpd\n  -o syslog_name=kurir/submission\n  -o smtpd_enforce_tls=yes\n",
         "/tmp/x/master.cf:3: service 587: -o smtpd_enforce_tls=yes requests TLS"},
        {"465 inet n - n - - smtpd -o smtpd_tls_wrapermode=yes\n",
         "/tmp/x/master.cf:3: service 465: -o smtpd_tls_wrapermode=yes: unknown parameter smtpd_tls_wrapermode"},
        {"2526 inet n - n - - smtpd -o no_such_param=1\n",
         "/tmp/x/master.cf:3: service 2526: -o no_such_param=1: unknown parameter no_such_param"},
        {"2526 inet n - n - - smtpd -o\n", "/tmp/x/master.cf:3: service 2526: -o needs name=value"},
        {"2526 inet n - n - - smtpd -o smtpd_banner\n", "want name=value"},
    };
    for (const auto& t : errors) {
        INFO(t.line);
        Config cfg = must("");
        auto r = check_service_options(cfg, services(head + t.line), "/tmp/x/master.cf");
        REQUIRE(!r);
        CHECK_THAT(r.error().text, Catch::Contains(t.expect));
    }
    Config cfg = must("submission_banner = hello\nmy_level = encrypt\n");
    REQUIRE(cfg.warnings().size() == 2);
    auto ok = check_service_options(
        cfg,
        services(head + "587 inet n - n - - smtpd -o smtpd_banner=$submission_banner -o biff=no\n"
                        "  -o smtpd_tls_security_level=encrypt -o smtpd_tls_wrappermode=yes\n"),
        "/tmp/x/master.cf");
    REQUIRE(ok);
    REQUIRE(ok->size() == 1);  // smtpd's TLS settings are implemented
    CHECK((*ok)[0] == "/tmp/x/master.cf:3: service 587: -o biff=no: parameter biff is not implemented by kurir; ignored");
    // The -o value refers to submission_banner: no longer an unknown name.
    REQUIRE(cfg.warnings().size() == 1);
    CHECK_THAT(cfg.warnings()[0], Catch::Contains("my_level"));
    // A value is expanded before it is judged.
    Config lvl = must("my_level = yes\n");
    auto refused = check_service_options(lvl, services(head + "587 inet n - n - - smtpd -o smtpd_use_tls=$my_level\n"),
                                         "/tmp/x/master.cf");
    REQUIRE(!refused);
    CHECK_THAT(refused.error().text, Catch::Contains("requests TLS"));
}

TEST_CASE("Config::from_text: the last of repeated settings wins", "[config]") {
    Config c = must("myhostname = one.example\nmyhostname = two.example\n");
    CHECK(c.str("myhostname") == "two.example");
}

TEST_CASE("Config::load reads DIR/main.cf and fails on a missing file", "[config]") {
    auto r = Config::load("/nonexistent/kurir-unit-dir");
    REQUIRE(!r);
    CHECK_THAT(r.error().text, Catch::Contains("/nonexistent/kurir-unit-dir/main.cf"));
}

// Every daemon holds a Config; with ten cleanups and twenty locals a copy
// of the whole parameter table in each (about 35 KB) was a measurable part
// of the tree's memory (doc/performance.md): defaults are read from the
// table, and only what main.cf, overrides and the load set is kept.
TEST_CASE("Config: the parameter table's defaults are read, not copied", "[config][memory]") {
    auto c = must("myhostname = mx.example.org\nrelayhost = [smart.example]\n");
    CHECK(c.raw_value("default_destination_concurrency_limit") == "20");
    CHECK(c.raw_value("relayhost") == "[smart.example]");
    CHECK(c.raw_value("mydomain") == "example.org");
    CHECK(c.raw_value("config_directory") == "/tmp/x");
    CHECK_FALSE(c.raw_value("no_such_parameter"));
    CHECK(c.raw().size() == param_table().size());
    CHECK(c.str("alias_maps") == "hash:/tmp/x/aliases");
#if defined(__SANITIZE_ADDRESS__)
    WARN("ASan's allocator keeps its own books: measured in the plain build only");
#else
    std::vector<Config> held;
    held.reserve(16);
    const auto before = static_cast<long>(mallinfo2().uordblks);
    for (int i = 0; i < 16; ++i) held.push_back(must("myhostname = mx.example.org\n"));
    const long per_config = (static_cast<long>(mallinfo2().uordblks) - before) / static_cast<long>(held.size());
    INFO("heap per config: " << per_config << " bytes");
    CHECK(per_config > 0);  // a Config holds something: the allocator is measured
    CHECK(per_config < 4096);
#endif
}
