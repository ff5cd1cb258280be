#include "server/answer_all.hpp"

#include <catch2/catch.hpp>

using kurir::server::nexthop_answer;

TEST_CASE("error/discard nexthop: a status of the agent's class, then the text", "[answer_all]") {
    auto a = nexthop_answer("5.1.1 This domain has no mail", "5.0.0", "disabled");
    CHECK(a.dsn == "5.1.1");
    CHECK(a.text == "This domain has no mail");
    a = nexthop_answer("", "5.0.0", "disabled");
    CHECK(a.dsn == "5.0.0");
    CHECK(a.text == "disabled");
    a = nexthop_answer("5.7.1", "5.0.0", "disabled");
    CHECK(a.dsn == "5.7.1");
    CHECK(a.text == "disabled");
    // A status of another class is text: error never sends, retry never bounces.
    a = nexthop_answer("2.0.0 ok", "5.0.0", "disabled");
    CHECK(a.dsn == "5.0.0");
    CHECK(a.text == "2.0.0 ok");
    a = nexthop_answer("5.1.1 gone", "4.0.0", "later");
    CHECK(a.dsn == "4.0.0");
    a = nexthop_answer("4.4.1 maintenance", "4.0.0", "later");
    CHECK(a.dsn == "4.4.1");
    CHECK(a.text == "maintenance");
    CHECK(nexthop_answer("5.1234.1 x", "5.0.0", "d").dsn == "5.0.0");
    CHECK(nexthop_answer("silently dropped", "2.0.0", "discarded").text == "silently dropped");
}
