#include "mail/master_cf.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;
using Args = std::vector<std::string>;

TEST_CASE("parse_master_cf: columns, defaults and continuation lines", "[master_cf]") {
    std::string text =
        "# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
        "smtp      inet  n       -       n       -       -       smtpd\n"
        "127.0.0.1:2525 inet y y y - 10 smtpd -o smtpd_timeout=10s\n"
        "\n"
        "pickup    unix  n       -       n       60      1       pickup\n"
        "qmgr      unix  n       -       n       300?    1       qmgr\n"
        "cleanup   unix  -       -       y       -       0       cleanup\n"
        "  -o a=b\n"
        "# a comment inside an entry\n"
        "\t-o c=d\n"
        "local\tunix\t-\tn\tn\t-\t-\tlocal\r\n"
        "smtp      unix  -       -       n       -       -       smtp\n";
    auto r = parse_master_cf(text, "/etc/kurir/master.cf");
    REQUIRE(r);
    const auto& s = *r;
    REQUIRE(s.size() == 7);

    CHECK(s[0].name == "smtp");
    CHECK(s[0].type == ServiceType::inet);
    CHECK(!s[0].private_);
    CHECK(s[0].unprivileged);
    CHECK(!s[0].chroot);
    CHECK(s[0].wakeup == 0);
    CHECK(s[0].maxproc == -1);
    CHECK(s[0].command == "smtpd");
    CHECK(s[0].args.empty());
    CHECK(s[0].line == 2);

    CHECK(s[1].name == "127.0.0.1:2525");
    CHECK(s[1].type == ServiceType::inet);
    CHECK(!s[1].private_);  // inet services are never private
    CHECK(s[1].unprivileged);
    CHECK(s[1].chroot);
    CHECK(s[1].maxproc == 10);
    CHECK(s[1].args == Args{"-o", "smtpd_timeout=10s"});
    CHECK(s[1].line == 3);

    CHECK(s[2].name == "pickup");
    CHECK(s[2].type == ServiceType::unix_stream);
    CHECK(!s[2].private_);
    CHECK(s[2].wakeup == 60);
    CHECK(s[2].maxproc == 1);
    CHECK(s[2].line == 5);

    CHECK(s[3].name == "qmgr");
    CHECK(s[3].wakeup == 300);  // "300?": only when used
    CHECK(s[3].maxproc == 1);

    CHECK(s[4].name == "cleanup");
    CHECK(s[4].private_);  // '-' takes the default y
    CHECK(s[4].unprivileged);
    CHECK(s[4].chroot);
    CHECK(s[4].maxproc == 0);
    CHECK(s[4].args == Args{"-o", "a=b", "-o", "c=d"});
    CHECK(s[4].line == 7);

    CHECK(s[5].name == "local");
    CHECK(!s[5].unprivileged);
    CHECK(s[5].command == "local");
    CHECK(s[5].args.empty());  // the CR of a CRLF line end is not an argument
    CHECK(s[5].line == 11);

    // Same name, other type: not a duplicate.
    CHECK(s[6].name == "smtp");
    CHECK(s[6].type == ServiceType::unix_stream);
}

TEST_CASE("parse_master_cf: '-' defaults", "[master_cf]") {
    auto r = parse_master_cf("x unix - - - - - cmd\n", "master.cf");
    REQUIRE(r);
    REQUIRE(r->size() == 1);
    const auto& e = r->front();
    CHECK(e.private_);
    CHECK(e.unprivileged);
    CHECK(!e.chroot);
    CHECK(e.wakeup == 0);
    CHECK(e.maxproc == -1);
    CHECK(e.line == 1);
    CHECK(parse_master_cf("", "master.cf").value().empty());
    CHECK(parse_master_cf("# only\n\n  \n", "master.cf").value().empty());
}

TEST_CASE("parse_master_cf: errors name the file and line", "[master_cf]") {
    struct Case {
        const char* what;
        std::string text;
        std::string where;
        std::string why;
    };
    std::vector<Case> cases = {
        {"too few fields", "smtp inet n - n - -\n", "master.cf:1:", "fields"},
        {"too few fields after comments", "# x\n\nsmtp inet\n", "master.cf:3:", "fields"},
        {"bad type", "ok unix - - - - - a\nx fifo - - - - - cmd\n", "master.cf:2:", "service type"},
        {"bad private", "x unix maybe - - - - cmd\n", "master.cf:1:", "private"},
        {"bad unpriv", "x unix - Y - - - cmd\n", "master.cf:1:", "unpriv"},
        {"bad chroot", "x unix - - yes - - cmd\n", "master.cf:1:", "chroot"},
        {"bad wakeup", "x unix - - - abc - cmd\n", "master.cf:1:", "wakeup"},
        {"negative wakeup", "x unix - - - -5 - cmd\n", "master.cf:1:", "wakeup"},
        {"bad maxproc", "x unix - - - - many cmd\n", "master.cf:1:", "maxproc"},
        {"negative maxproc", "x unix - - - - -1 cmd\n", "master.cf:1:", "maxproc"},
        {"duplicate service", "a unix - - - - - x\nb unix - - - - - y\na unix - - - - - z\n", "master.cf:3:",
         "duplicate"},
        {"duplicate inet service", "25 inet n - - - - smtpd\n25 inet n - - - - smtpd\n", "master.cf:2:",
         "duplicate"},
        {"command with '/'", "x unix - - - - - /usr/bin/evil\n", "master.cf:1:", "command"},
        {"command with '../'", "x unix - - - - - ../evil\n", "master.cf:1:", "command"},
        {"command starting with '.'", "x unix - - - - - .hidden\n", "master.cf:1:", "command"},
        {"unix name with '/'", "a/b unix - - - - - x\n", "master.cf:1:", "unix service name"},
        {"unix name '..'", ".. unix - - - - - x\n", "master.cf:1:", "unix service name"},
        {"error in a continued entry names its first line", "x unix - - - - - a\ny unix - -\n  - - bad cmd\n",
         "master.cf:2:", "maxproc"},
        {"NUL byte", std::string("x unix - - - - - a\ny unix\0 - - - - - b\n", 39), "master.cf:2:", "NUL"},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            auto r = parse_master_cf(c.text, "/etc/kurir/master.cf");
            REQUIRE(!r);
            CHECK_THAT(r.error().text, Catch::Contains("/etc/kurir/" + c.where));
            CHECK_THAT(r.error().text, Catch::Contains(c.why));
        }
    }
}

// wakeup and maxproc are parsed as long and cast to int without a bound.
TEST_CASE("parse_master_cf: wakeup and maxproc beyond int are errors", "[master_cf]") {
    for (std::string text : std::vector<std::string>{
             "x unix - - - 4294967295 - cmd\n",   // wakeup -1
             "x unix - - - 2147483648 - cmd\n",   // wakeup INT_MIN
             "x unix - - - - 4294967296 cmd\n",   // maxproc 0: no limit
             "x unix - - - - 4294967295 cmd\n"}) {  // maxproc -1: default
        INFO(text);
        auto r = parse_master_cf(text, "master.cf");
        if (r) {
            REQUIRE(r->size() == 1);
            CHECK(r->front().wakeup >= 0);
            CHECK(r->front().maxproc != -1);
            CHECK(r->front().maxproc != 0);
        }
    }
}

TEST_CASE("effective_maxproc: \"-\" is default_process_limit, 0 is a finite bound", "[master_cf]") {
    auto entries = parse_master_cf("cleanup unix - - n - 0 cleanup\n"
                                   "smtp inet n - n - - smtpd\n"
                                   "qmgr unix n - n 300 1 qmgr\n",
                                   "master.cf");
    REQUIRE(entries);
    const auto& e = *entries;
    CHECK(effective_maxproc(e[0], 100) == 100 * kMaxprocZeroFactor);  // Postfix's "no limit", capped
    CHECK(effective_maxproc(e[0], 3) == 3 * kMaxprocZeroFactor);
    CHECK(effective_maxproc(e[0], 100) <= 1000);
    CHECK(effective_maxproc(e[1], 100) == 100);
    CHECK(effective_maxproc(e[1], 0) == 1);  // never zero processes
    CHECK(effective_maxproc(e[2], 100) == 1);
}
