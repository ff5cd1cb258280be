#include "mail/config.hpp"

#include <catch2/catch.hpp>

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
        "smtpd_sasl_auth_enable = yes\n"
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
    CHECK(c.boolean("smtpd_sasl_auth_enable"));
    CHECK(c.list("mydestination") == std::vector<std::string>{"mx.example", "localhost.example.org"});
    CHECK(c.explicit_values().count("myorigin") == 1);
    CHECK(c.explicit_values().at("myorigin") == "$mydomain");
    CHECK(c.explicit_values().count("relayhost") == 0);
    CHECK(c.raw().count("relayhost") == 1);
}

TEST_CASE("Config::from_text: boolean spellings", "[config]") {
    for (auto [text, v] : std::vector<std::pair<std::string, bool>>{
             {"yes", true}, {"true", true}, {"no", false}, {"false", false}}) {
        Config c = must("smtpd_sasl_auth_enable = " + text + "\n");
        CHECK(c.boolean("smtpd_sasl_auth_enable") == v);
    }
    CHECK(!must("").boolean("smtpd_sasl_auth_enable"));
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
        {"bad bool", "a_unknown = 1\nsmtpd_sasl_auth_enable = maybe\n", "/tmp/x/main.cf:2",
         "smtpd_sasl_auth_enable"},
        {"empty integer", "hopcount_limit =\n", "/tmp/x/main.cf:1", "hopcount_limit"},
        {"expansion to a bad integer", "x = abc\nhopcount_limit = $x\n", "/tmp/x/main.cf:2", "hopcount_limit"},
        {"unbalanced expansion", "myorigin = ${myhostname\n", "/tmp/x/main.cf:1", "unbalanced"},
        {"below minimum", "line_length_limit = 79\n", "/tmp/x/main.cf:1", "minimum"},
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
    Config c = must("line_length_limit = 80\nhopcount_limit = 1\nmax_idle = 1s\nmessage_size_limit = 0\n");
    CHECK(c.integer("line_length_limit") == 80);
    CHECK(c.integer("hopcount_limit") == 1);
    CHECK(c.seconds("max_idle") == 1);
    CHECK(c.integer("message_size_limit") == 0);
}

TEST_CASE("Config::from_text: unknown parameters are warnings with file:line", "[config]") {
    Config c = must("myhostname = mx.example\n\nfoo_bar = 1\n# c\nbaz = $foo_bar\n");
    REQUIRE(c.warnings().size() == 2);
    CHECK_THAT(c.warnings()[0], Catch::Contains("/tmp/x/main.cf:3"));
    CHECK_THAT(c.warnings()[0], Catch::Contains("foo_bar"));
    CHECK_THAT(c.warnings()[1], Catch::Contains("/tmp/x/main.cf:5"));
    CHECK_THAT(c.warnings()[1], Catch::Contains("baz"));
    // Unknown names are still usable for expansion.
    CHECK(c.str("baz") == "1");
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
