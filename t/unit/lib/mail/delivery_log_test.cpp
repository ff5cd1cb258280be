#include "mail/delivery_log.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("format_delay: Postfix's compact delays", "[delivery_log]") {
    struct Case {
        double s;
        std::string out;
    };
    std::vector<Case> cases = {
        {0, "0"},       {0.004, "0"},     {0.0099, "0"},   {-1, "0"},    {0.01, "0.01"},
        {0.05, "0.05"}, {0.5, "0.5"},     {0.25, "0.25"},  {1, "1"},     {1.26, "1.3"},
        {3.0, "3"},     {9.4, "9.4"},     {10, "10"},      {12.4, "12"}, {123.6, "124"},
        {86400, "86400"},
    };
    for (const auto& c : cases) {
        INFO(c.s);
        CHECK(format_delay(c.s) == c.out);
    }
}

TEST_CASE("delivery_log_line: Postfix's layout", "[delivery_log]") {
    DeliveryTimes t{100, 101, 102, 102.5, 103};
    CHECK(delivery_log_line("3Kq8sN2bCDFGH", "user@x", "", "local", t, "2.0.0", "delivered to maildir") ==
          "3Kq8sN2bCDFGH: to=<user@x>, relay=local, delay=3, delays=1/1/0.5/0.5, dsn=2.0.0, status=sent "
          "(delivered to maildir)");
    // orig_to only when it differs from the recipient.
    CHECK(delivery_log_line("ID", "user@x", "user@x", "local", t, "2.0.0", "ok") ==
          "ID: to=<user@x>, relay=local, delay=3, delays=1/1/0.5/0.5, dsn=2.0.0, status=sent (ok)");
    CHECK(delivery_log_line("ID", "user@x", "User+tag@X", "local", t, "2.0.0", "ok") ==
          "ID: to=<user@x>, orig_to=<User+tag@X>, relay=local, delay=3, delays=1/1/0.5/0.5, dsn=2.0.0, "
          "status=sent (ok)");
    // Addresses in external form.
    CHECK(delivery_log_line("ID", "john doe@x", "j d@x", "none", t, "2.0.0", "ok") ==
          "ID: to=<\"john doe\"@x>, orig_to=<\"j d\"@x>, relay=none, delay=3, delays=1/1/0.5/0.5, dsn=2.0.0, "
          "status=sent (ok)");
    // Status from the DSN class.
    CHECK_THAT(delivery_log_line("ID", "a@b", "", "mx.b[192.0.2.1]:25", t, "4.4.1", "connection refused"),
               Catch::EndsWith("dsn=4.4.1, status=deferred (connection refused)"));
    CHECK_THAT(delivery_log_line("ID", "a@b", "", "local", t, "5.1.1", "unknown user"),
               Catch::EndsWith("dsn=5.1.1, status=bounced (unknown user)"));
    // Clock steps backwards never give negative delays.
    DeliveryTimes back{100, 99, 98, 97, 96};
    CHECK_THAT(delivery_log_line("ID", "a@b", "", "local", back, "2.0.0", "ok"),
               Catch::Contains("delay=0, delays=0/0/0/0,"));
    DeliveryTimes slow{1000, 1000.004, 1012.5, 1012.52, 1200};
    CHECK_THAT(delivery_log_line("ID", "a@b", "", "local", slow, "2.0.0", "ok"),
               Catch::Contains("delay=200, delays=0/12/0.02/187,"));
}

TEST_CASE("now_seconds is the wall clock", "[delivery_log]") {
    double a = now_seconds();
    CHECK(a > 1.6e9);
    CHECK(now_seconds() >= a);
}
