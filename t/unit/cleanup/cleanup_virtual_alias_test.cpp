#include "cleanup/cleanup_message.hpp"
#include "cleanup/cleanup_virtual_alias.hpp"

#include "mail/queue_file.hpp"
#include "mail/record.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace kurir;
using cleanup::AliasLimits;
using cleanup::AliasLookup;
using cleanup::expand_virtual_alias;
using Addrs = std::vector<std::string>;

namespace {

// A table of address -> addresses; "broken" fails.
AliasLookup table(std::map<std::string, Addrs> entries) {
    return [entries = std::move(entries)](std::string_view a) -> util::Result<std::optional<Addrs>> {
        if (a == "broken@example.com") return util::fail("hash:/x: read error");
        auto it = entries.find(std::string(a));
        if (it == entries.end()) return std::nullopt;
        return it->second;
    };
}

}  // namespace

TEST_CASE("virtual alias: recursive, one to many, self kept", "[cleanup][virtual_alias]") {
    auto t = table({{"a@example.com", {"b@example.com"}},
                    {"b@example.com", {"c@example.org", "d@example.org"}},
                    {"list@example.com", {"list@example.com", "e@example.org"}},
                    {"self@example.com", {"self@example.com"}}});
    CHECK(expand_virtual_alias("nobody@example.com", t, {}).value() == Addrs{"nobody@example.com"});
    CHECK(expand_virtual_alias("a@example.com", t, {}).value() == Addrs{"c@example.org", "d@example.org"});
    CHECK(expand_virtual_alias("list@example.com", t, {}).value() == Addrs{"list@example.com", "e@example.org"});
    CHECK(expand_virtual_alias("self@example.com", t, {}).value() == Addrs{"self@example.com"});
}

TEST_CASE("virtual alias: a loop, the limits and a table error defer", "[cleanup][virtual_alias]") {
    auto loop = table({{"x@example.com", {"y@example.com"}}, {"y@example.com", {"x@example.com"}}});
    auto r = expand_virtual_alias("x@example.com", loop, {});
    REQUIRE_FALSE(r);
    CHECK(r.error().text == "unreasonable virtual_alias_maps map nesting for x@example.com -- deferring delivery");

    auto wide = table({{"all@example.com", {"1@x", "2@x", "3@x", "4@x"}}});
    CHECK(expand_virtual_alias("all@example.com", wide, AliasLimits{1000, 4, 1000}));
    auto many = expand_virtual_alias("all@example.com", wide, AliasLimits{1000, 3, 1000});
    REQUIRE_FALSE(many);
    CHECK(many.error().text ==
          "unreasonable virtual_alias_maps map expansion size for all@example.com -- deferring delivery");

    auto deep = table({{"1@x", {"2@x"}}, {"2@x", {"3@x"}}, {"3@x", {"4@x"}}});
    // As Postfix: the limit counts lookups, the last one (that finds nothing) too.
    CHECK(expand_virtual_alias("1@x", deep, AliasLimits{4, 1000, 1000}).value() == Addrs{"4@x"});
    CHECK_FALSE(expand_virtual_alias("1@x", deep, AliasLimits{3, 1000, 1000}));

    auto longer = table({{"a@x", {std::string(20, 'l') + "@x"}}});
    CHECK_FALSE(expand_virtual_alias("a@x", longer, AliasLimits{1000, 1000, 10}));

    auto broken = table({{"a@example.com", {"broken@example.com"}}});
    auto e = expand_virtual_alias("a@example.com", broken, {});
    REQUIRE_FALSE(e);
    CHECK(e.error().text ==
          "virtual_alias_maps map lookup problem for a@example.com -- deferring delivery: hash:/x: read error");
}

namespace {

std::string stream(const Addrs& rcpts) {
    using namespace mail;
    std::string s;
    rec_append(s, rec::attr, "origin=smtp");
    rec_append(s, rec::sender, "s@example.org");
    for (const auto& r : rcpts) {
        rec_append(s, rec::dsn_notify, "2");
        rec_append(s, rec::rcpt, r);
    }
    rec_append(s, rec::message, "");
    rec_append_line(s, "Subject: hi", 4096);
    rec_append_line(s, "To: a@example.com", 4096);
    rec_append_line(s, "", 4096);
    rec_append_line(s, "body", 4096);
    rec_append(s, rec::content_end, "");
    return s;
}

mail::Config config() { return mail::Config::from_text("myhostname = mx.example\nmyorigin = example.com\n", "/tmp/x").value(); }

util::Result<std::string> canon(std::string_view a) {
    std::string s(a);
    if (s.find('@') == std::string::npos) s += "@example.com";
    return s;
}

}  // namespace

TEST_CASE("virtual alias in cleanup: every envelope recipient, original kept, duplicates once",
          "[cleanup][virtual_alias]") {
    auto cfg = config();
    cleanup::RewriteTables rw;
    rw.virtual_alias = table({{"a@example.com", {"bob", "c@example.org"}}, {"d@example.com", {"c@example.org"}}});
    std::string bytes = stream({"a@example.com", "d@example.com", "keep@example.net"});
    auto r = cleanup::build_queue_file(cfg, {"2Tf9kN0005BCDFG", 1700000000, 0, bytes}, canon, rw);
    REQUIRE(r);
    auto env = mail::parse_queue_file(r->file).value();
    REQUIRE(env.recipients.size() == 3);
    CHECK(env.recipients[0].address == "bob@example.com");  // a result without a domain is at $myorigin
    CHECK(env.recipients[0].original == "a@example.com");
    CHECK(env.recipients[0].notify == 2);
    CHECK(env.recipients[1].address == "c@example.org");
    CHECK(env.recipients[2].address == "keep@example.net");
    CHECK(env.recipients[2].original.empty());
    CHECK(r->recipients == 3);
    // The Received: header names the recipient the client gave (one only when there was one).
    std::string one = stream({"a@example.com"});
    auto single = cleanup::build_queue_file(cfg, {"2Tf9kN0005BCDFG", 1700000000, 0, one}, canon, rw);
    REQUIRE(single);
    CHECK(single->file.find("for <a@example.com>") != std::string::npos);
}

TEST_CASE("virtual alias in cleanup: a loop defers the message with 4.6.0", "[cleanup][virtual_alias]") {
    auto cfg = config();
    cleanup::RewriteTables rw;
    rw.virtual_alias = table({{"x@example.com", {"y@example.com"}}, {"y@example.com", {"x@example.com"}}});
    std::string bytes = stream({"x@example.com"});
    auto r = cleanup::build_queue_file(cfg, {"2Tf9kN0005BCDFG", 1700000000, 0, bytes}, canon, rw);
    REQUIRE_FALSE(r);
    CHECK(r.error().status == '4');
    CHECK(r.error().dsn == "4.6.0");
    CHECK(r.error().text == "Alias expansion error");
}
