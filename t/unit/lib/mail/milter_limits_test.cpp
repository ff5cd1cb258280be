#include "mail/milter_limits.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail::milter;

namespace {

Reply edit(ReplyKind kind, std::string a = {}, std::string b = {}) {
    Reply r;
    r.kind = kind;
    r.name = r.address = r.text = r.body = a;
    r.value = r.params = b;
    return r;
}

}  // namespace

TEST_CASE("milter edit limits: each kind by its parameter, and nothing after the first excess", "[milter]") {
    EditLimits limits{100, 50, 2, 20};
    SECTION("header fields: as header lines, \"Name: value\" and a newline") {
        EditBudget b(limits);
        CHECK(b.take(edit(ReplyKind::add_header, "X-A", std::string(93, 'v'))));  // 3 + 2 + 93 + 1 = 99
        CHECK_FALSE(b.exceeded());
        auto over = b.take(edit(ReplyKind::change_header, "X-A", ""));  // a deletion counts its name
        REQUIRE_FALSE(over);
        CHECK(over.error().text == "header edits over header_size_limit (100 bytes)");
        CHECK(b.exceeded());
        CHECK_FALSE(b.take(edit(ReplyKind::add_rcpt, "<a@b>")));  // no edit counts once over
        CHECK(b.take(edit(ReplyKind::reject)));                   // a verdict still does
    }
    SECTION("header fields: after those the client prepended itself") {
        EditBudget b(limits, 90);
        CHECK(b.take(edit(ReplyKind::add_header, "X", "1")));  // 95
        CHECK(b.take(edit(ReplyKind::add_header, "X", "1")));  // 100
        CHECK_FALSE(b.take(edit(ReplyKind::add_header, "X", "1")));
    }
    SECTION("one edit within cleanup's cap on one record, whatever header_size_limit is") {
        EditBudget b({1 << 30, 50, 2, 20});
        CHECK(b.take(edit(ReplyKind::add_header, "X", std::string((1 << 20) - 17, 'v'))));  // 1 + value + 16
        auto over = b.take(edit(ReplyKind::add_header, "X", std::string((1 << 20) - 16, 'v')));
        REQUIRE_FALSE(over);
        CHECK(over.error().text == "an edit over 1048576 bytes (cleanup's limit on one record)");
    }
    SECTION("all edits as their records, within cleanup's cap") {
        EditBudget b({100, 50, 2, 20, 60});
        CHECK(b.take(edit(ReplyKind::replace_body, std::string(20, 'x'))));  // 20 + 16
        CHECK(b.take(edit(ReplyKind::add_rcpt, "<a@b>")));                   // 5 + 16
        auto over = b.take(edit(ReplyKind::quarantine, "why"));
        REQUIRE_FALSE(over);
        CHECK(over.error().text == "edits over 60 bytes in all (cleanup's limit on their records)");
    }
    SECTION("a replaced body") {
        EditBudget b(limits);
        CHECK(b.take(edit(ReplyKind::replace_body, std::string(50, 'x'))));
        CHECK_FALSE(b.take(edit(ReplyKind::replace_body, "y")));
    }
    SECTION("a replaced body: each milter's starts it over, only the last counts") {
        EditBudget b(limits);
        b.begin();
        CHECK(b.take(edit(ReplyKind::replace_body, std::string(40, 'x'))));
        b.begin();
        CHECK(b.take(edit(ReplyKind::replace_body, std::string(30, 'y'))));
        CHECK(b.take(edit(ReplyKind::replace_body, std::string(20, 'y'))));  // its pieces add up
        CHECK_FALSE(b.take(edit(ReplyKind::replace_body, "y")));
    }
    SECTION("recipients added, and the other envelope edits apart") {
        EditBudget b(limits);
        CHECK(b.take(edit(ReplyKind::add_rcpt, "<a@b>")));
        CHECK(b.take(edit(ReplyKind::add_rcpt_par, "<c@b>", "NOTIFY=NEVER")));
        CHECK(b.take(edit(ReplyKind::delete_rcpt, "<d@b>")));
        CHECK(b.take(edit(ReplyKind::change_from, "<e@b>")));
        auto over = b.take(edit(ReplyKind::add_rcpt, "<f@b>"));
        REQUIRE_FALSE(over);
        CHECK(over.error().text == "more than smtpd_recipient_limit (2) recipients added");
    }
    SECTION("one envelope edit longer than line_length_limit") {
        EditBudget b(limits);
        auto over = b.take(edit(ReplyKind::change_from, "<a@b>", std::string(16, 'p')));
        REQUIRE_FALSE(over);
        CHECK(over.error().text == "new sender longer than line_length_limit (20 bytes)");
    }
    SECTION("replies that are not edits cost nothing") {
        EditBudget b({0, 0, 0, 0});
        CHECK(b.take(edit(ReplyKind::progress)));
        CHECK(b.take(edit(ReplyKind::accept)));
    }
}

TEST_CASE("milter reply deadline: one per request, progress restarts it up to ten timeouts", "[milter]") {
    ReplyDeadline d(1000, 2);  // a request at 1 s, with a 2 s timeout
    CHECK(d.at() == 3000);
    d.progress(2500);
    CHECK(d.at() == 4500);
    d.progress(19500);
    CHECK(d.at() == 21000);  // never past 1 s + 10 * 2 s
    d.progress(20900);
    CHECK(d.at() == 21000);
}
