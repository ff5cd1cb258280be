#include "mail/queue_shape.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

namespace {

constexpr long kNow = 1800000000;

ListedMessage msg(long age_minutes, std::string sender, std::vector<std::string> rcpts) {
    ListedMessage m;
    m.queue_name = "deferred";
    m.queue_id = "4jXv000000BBBBB";
    m.arrival_time = kNow - age_minutes * 60;
    m.sender = std::move(sender);
    for (auto& r : rcpts) m.recipients.push_back({std::move(r), ""});
    return m;
}

}  // namespace

TEST_CASE("qshape buckets: [0,5) [5,10) [10,20) ... and the last without a limit") {
    QueueShapeOptions o;
    auto at = [&](long seconds) { return shape_bucket(kNow - seconds, kNow, o); };
    CHECK(at(0) == 1);
    CHECK(at(299) == 1);
    CHECK(at(300) == 2);
    CHECK(at(599) == 2);
    CHECK(at(600) == 3);
    CHECK(at(1199) == 3);
    CHECK(at(1200) == 4);
    CHECK(at(640 * 60 - 1) == 8);
    CHECK(at(640 * 60) == 9);
    CHECK(at(1280 * 60 - 1) == 9);
    CHECK(at(1280 * 60) == 10);
    CHECK(at(100000 * 60) == 10);
    CHECK(shape_bucket(kNow + 60, kNow, o) == 1);  // a clock that went back
    o.linear = true;
    CHECK(at(299) == 1);
    CHECK(at(300) == 2);
    CHECK(at(899) == 3);
    CHECK(at(900) == 4);
    CHECK(at(100000) == 10);
    o = {};
    o.bucket_minutes = 1;
    o.bucket_count = 3;
    CHECK(at(59) == 1);
    CHECK(at(60) == 2);
    CHECK(at(120) == 3);
}

TEST_CASE("qshape domains: after the last @, lower case, outer dots dropped, <> is MAILER-DAEMON") {
    CHECK(shape_domain("User@Example.COM") == "example.com");
    CHECK(shape_domain("\"a@b\"@c.test") == "c.test");
    CHECK(shape_domain("x@.a..b.") == "a.b");
    CHECK(shape_domain("") == "MAILER-DAEMON");
    CHECK(shape_domain("postmaster") == "postmaster");
}

TEST_CASE("qshape layout: headings, TOTAL first, domains by count, right justified to 80 columns") {
    std::vector<ListedMessage> q = {
        msg(0, "s@a.test", {"u@far.test", "v@far.test"}),
        msg(7, "s@a.test", {"u@far.test"}),
        msg(2000, "", {"w@other.test"}),
    };
    std::string out = format_queue_shape(q, kNow, {});
    std::string want =
        "                                         T  5 10 20 40 80 160 320 640 1280 1280+\n"
        "                                  TOTAL  4  2  1  0  0  0   0   0   0    0     1\n"
        "                               far.test  3  2  1  0  0  0   0   0   0    0     0\n"
        "                             other.test  1  0  0  0  0  0   0   0   0    0     1\n";
    CHECK(out == want);
    for (size_t pos = 0, nl; (nl = out.find('\n', pos)) != std::string::npos; pos = nl + 1)
        CHECK(nl - pos == 80);
    QueueShapeOptions s;
    s.by_sender = true;
    CHECK(format_queue_shape(q, kNow, s) ==
          "                                         T  5 10 20 40 80 160 320 640 1280 1280+\n"
          "                                  TOTAL  3  1  1  0  0  0   0   0   0    0     1\n"
          "                                 a.test  2  1  1  0  0  0   0   0   0    0     0\n"
          "                          MAILER-DAEMON  1  0  0  0  0  0   0   0   0    0     1\n");
}

TEST_CASE("qshape layout: wide counts widen their column, long names are cut from the left") {
    std::vector<ListedMessage> q;
    std::vector<std::string> many(1000, "x@" + std::string(50, 'd') + ".test");
    q.push_back(msg(0, "s@a", many));
    std::string out = format_queue_shape(q, kNow, {});
    std::string head = out.substr(0, out.find('\n'));
    CHECK(head.ends_with("    T    5 10 20 40 80 160 320 640 1280 1280+"));
    CHECK(head.size() == 80);
    CHECK(out.find("TOTAL 1000 1000  0") != std::string::npos);
    // 80 - 45 columns of counts leaves 35 for the name: "+" and its last 34 bytes.
    CHECK(out.find("\n+" + std::string(29, 'd') + ".test 1000 1000") != std::string::npos);
}

TEST_CASE("qshape -p: parent domains with enough subdomains, never a top-level domain") {
    std::vector<ListedMessage> q;
    for (std::string h : {"a", "b", "c", "d", "e"}) q.push_back(msg(0, "s@x", {"u@" + h + ".example.com"}));
    q.push_back(msg(0, "s@x", {"u@one.other.org"}));
    QueueShapeOptions o;
    o.parents = true;
    std::string out = format_queue_shape(q, kNow, o);
    CHECK(out.find("         .example.com  5  5") != std::string::npos);
    CHECK(out.find(" .other.org") == std::string::npos);  // one subdomain only
    CHECK(out.find(" .com ") == std::string::npos);
    CHECK(out.find("  a.example.com  1  1") != std::string::npos);
    o.min_subdomains = 1;
    CHECK(format_queue_shape(q, kNow, o).find("  .other.org  1  1") != std::string::npos);
}
