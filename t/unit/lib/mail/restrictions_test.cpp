#include "mail/restrictions.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace kurir;
using namespace kurir::mail;

namespace {

std::vector<RestrictionList> lists(std::map<std::string, std::string> values) {
    auto parsed = parse_restriction_lists([&](std::string_view p) {
        auto it = values.find(std::string(p));
        return it == values.end() ? std::string() : it->second;
    });
    REQUIRE(parsed);
    return *parsed;
}

// Postfix's default relay restrictions, with reject instead of defer.
const std::map<std::string, std::string> kSubmission{
    {"smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"}};

RcptFacts stranger_to(std::string rcpt, bool ours) {
    RcptFacts f;
    f.client = "unknown[192.0.2.1]";
    f.helo = "client.test";
    f.sender = "a@client.test";
    f.recipient = std::move(rcpt);
    f.recipient_domain_ours = ours;
    return f;
}

SenderOwners no_owners = [](std::string_view) -> util::Result<std::optional<std::vector<std::string>>> {
    return std::nullopt;
};

std::string verdict(const std::vector<RestrictionList>& l, const RcptFacts& f, const SenderOwners& o = no_owners) {
    auto v = check_recipient(l, f, o);
    REQUIRE(v);
    return v->refused ? v->reply : "OK";
}

}  // namespace

TEST_CASE("relay restrictions: strangers only to our domains, mynetworks and logged-in users anywhere",
          "[smtpd][restrictions]") {
    auto l = lists(kSubmission);
    CHECK(verdict(l, stranger_to("u@example.org", false)) == "554 5.7.1 <u@example.org>: Relay access denied");
    CHECK(verdict(l, stranger_to("u@ours.test", true)) == "OK");
    auto mine = stranger_to("u@example.org", false);
    mine.client_in_mynetworks = true;
    CHECK(verdict(l, mine) == "OK");
    auto logged_in = stranger_to("u@example.org", false);
    logged_in.sasl_username = "alice";
    CHECK(verdict(l, logged_in) == "OK");
}

TEST_CASE("defer_unauth_destination answers 454, the default Postfix relay list", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_relay_restrictions", "permit_mynetworks permit_sasl_authenticated defer_unauth_destination"}});
    CHECK(verdict(l, stranger_to("u@example.org", false)) == "454 4.7.1 <u@example.org>: Relay access denied");
}

TEST_CASE("a permit ends its own list only: a later list still refuses", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_client_restrictions", "permit"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"},
                    {"smtpd_recipient_restrictions", "reject"}});
    CHECK(verdict(l, stranger_to("u@example.org", false)) == "554 5.7.1 <u@example.org>: Relay access denied");
    CHECK(verdict(l, stranger_to("u@ours.test", true)) ==
          "554 5.7.1 <u@ours.test>: Recipient address rejected: Access denied");
}

TEST_CASE("each list's plain reject names its own object", "[smtpd][restrictions]") {
    auto f = stranger_to("u@ours.test", true);
    auto relay = std::pair<std::string, std::string>{"smtpd_relay_restrictions", "reject_unauth_destination"};
    CHECK(verdict(lists({relay, {"smtpd_client_restrictions", "reject"}}), f) ==
          "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied");
    CHECK(verdict(lists({relay, {"smtpd_helo_restrictions", "defer"}}), f) ==
          "450 4.7.1 <client.test>: Helo command rejected: Access denied");
    CHECK(verdict(lists({relay, {"smtpd_sender_restrictions", "reject"}}), f) ==
          "554 5.7.1 <a@client.test>: Sender address rejected: Access denied");
}

TEST_CASE("reject_sender_login_mismatch as Postfix", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_sender_restrictions", "reject_sender_login_mismatch"},
                    {"smtpd_relay_restrictions", "permit_sasl_authenticated, reject_unauth_destination"}});
    SenderOwners owners = [](std::string_view s) -> util::Result<std::optional<std::vector<std::string>>> {
        if (s == "boss@corp.test") return std::vector<std::string>{"alice", "bob"};
        return std::nullopt;
    };
    auto f = stranger_to("u@example.org", false);
    f.sender = "boss@corp.test";
    // Not logged in, but the address has owners.
    CHECK(verdict(l, f, owners) == "553 5.7.1 <boss@corp.test>: Sender address rejected: not logged in");
    f.sasl_username = "bob";
    CHECK(verdict(l, f, owners) == "OK");
    f.sasl_username = "mallory";
    CHECK(verdict(l, f, owners) == "553 5.7.1 <boss@corp.test>: Sender address rejected: not owned by user mallory");
    // A logged-in user sending as an address nobody owns is refused too.
    f.sender = "other@corp.test";
    CHECK(verdict(l, f, owners) == "553 5.7.1 <other@corp.test>: Sender address rejected: not owned by user mallory");
    // The null sender is not checked.
    f.sender = "";
    CHECK(verdict(l, f, owners) == "OK");
    // Not logged in and nobody owns the address: no objection.
    auto g = stranger_to("u@ours.test", true);
    g.sender = "other@corp.test";
    CHECK(verdict(l, g, owners) == "OK");
}

TEST_CASE("a failing login table is an error, not a permit", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_sender_restrictions", "reject_sender_login_mismatch"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"}});
    SenderOwners broken = [](std::string_view) -> util::Result<std::optional<std::vector<std::string>>> {
        return util::fail("hash:/x: lookup failed");
    };
    auto v = check_recipient(l, stranger_to("u@ours.test", true), broken);
    REQUIRE_FALSE(v);
    CHECK(v.error().text == "hash:/x: lookup failed");
}

TEST_CASE("restriction lists refuse what they do not implement and an open relay", "[smtpd][restrictions]") {
    auto bad = parse_restriction_list("smtpd_recipient_restrictions", "permit_mynetworks, reject_rbl_client zen.x");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().text == "smtpd_recipient_restrictions: restriction \"reject_rbl_client\" is not implemented by kurir");
    auto open = parse_restriction_lists([](std::string_view p) {
        return p == "smtpd_relay_restrictions" ? std::string("permit_mynetworks, permit_sasl_authenticated") : std::string();
    });
    REQUIRE_FALSE(open);
    CHECK(open.error().text.find("open relay") != std::string::npos);
    // Recipient restrictions alone may carry the relay check (Postfix before 2.10).
    auto old_style = parse_restriction_lists([](std::string_view p) {
        return p == "smtpd_recipient_restrictions" ? std::string("permit_mynetworks,\n\treject_unauth_destination")
                                                   : std::string();
    });
    REQUIRE(old_style);
    CHECK(old_style->at(4).steps.size() == 2);
}

TEST_CASE("sender login keys and names", "[smtpd][restrictions]") {
    CHECK(sender_login_keys("Boss@Corp.Test") == std::vector<std::string>{"boss@corp.test", "@corp.test"});
    CHECK(sender_login_keys("postmaster") == std::vector<std::string>{"postmaster"});
    CHECK(split_login_names("alice, bob\tcarol") == std::vector<std::string>{"alice", "bob", "carol"});
}
