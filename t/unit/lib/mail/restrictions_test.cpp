#include "mail/restrictions.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace kurir;
using namespace kurir::mail;

namespace {

// Postfix's defaults for what a test does not set.
const std::map<std::string, std::string> kDefaults{
    {"smtpd_delay_reject", "yes"},          {"access_map_reject_code", "554"},
    {"access_map_defer_code", "450"},       {"non_fqdn_reject_code", "504"},
    {"invalid_hostname_reject_code", "501"}, {"unknown_local_recipient_reject_code", "550"},
    {"unknown_address_reject_code", "450"},  {"maps_rbl_reject_code", "554"},
    {"unknown_relay_recipient_reject_code", "550"}, {"relay_domains_reject_code", "554"},
    {"unknown_virtual_mailbox_reject_code", "550"}, {"unknown_virtual_alias_reject_code", "550"}};

util::Result<RestrictionPolicy> parse(const std::map<std::string, std::string>& values) {
    return parse_restriction_policy([&](std::string_view p) {
        auto it = values.find(std::string(p));
        if (it != values.end()) return it->second;
        auto d = kDefaults.find(std::string(p));
        return d == kDefaults.end() ? std::string() : d->second;
    });
}

RestrictionPolicy lists(const std::map<std::string, std::string>& values) {
    auto parsed = parse(values);
    REQUIRE(parsed);
    return *parsed;
}

// Postfix's default relay restrictions, with reject instead of defer.
const std::map<std::string, std::string> kSubmission{
    {"smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"}};

SmtpFacts stranger_to(std::string rcpt, bool ours) {
    SmtpFacts f;
    f.client_name = "unknown";
    f.client_addr = "192.0.2.1";
    f.helo = "client.test";
    f.sender = "a@client.test";
    f.recipient = std::move(rcpt);
    f.recipient_domain_ours = ours;
    f.recipient_delimiter = "+";
    return f;
}

SenderOwners no_owners = [](std::string_view) -> util::Result<std::optional<std::vector<std::string>>> {
    return std::nullopt;
};

// An access table in memory: "table|key" -> value.
using Tables = std::map<std::string, std::string>;
AccessLookup tables_of(const Tables& t) {
    return [t](std::string_view table, std::string_view key) -> util::Result<std::optional<std::string>> {
        if (table == "hash:/broken") return util::fail("hash:/broken: lookup failed");
        auto it = t.find(std::string(table) + "|" + std::string(key));
        if (it == t.end()) return std::optional<std::string>();
        return std::optional<std::string>(it->second);
    };
}

RestrictionVerdict full_verdict(const RestrictionPolicy& l, const SmtpFacts& f, const Tables& t = {},
                                const SenderOwners& o = no_owners, SmtpStage stage = SmtpStage::rcpt) {
    auto v = check_restrictions(l, stage, f, RestrictionLookups{tables_of(t), o});
    REQUIRE(v);
    return *v;
}

std::string verdict(const RestrictionPolicy& l, const SmtpFacts& f, const SenderOwners& o = no_owners) {
    auto v = full_verdict(l, f, {}, o);
    return v.refused ? v.reply : "OK";
}

std::string verdict_with(const RestrictionPolicy& l, const SmtpFacts& f, const Tables& t,
                         SmtpStage stage = SmtpStage::rcpt) {
    auto v = full_verdict(l, f, t, no_owners, stage);
    return v.refused ? v.reply : "OK";
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
    auto v = check_restrictions(l, SmtpStage::rcpt, stranger_to("u@ours.test", true),
                                RestrictionLookups{tables_of({}), broken});
    REQUIRE_FALSE(v);
    CHECK(v.error().text == "hash:/x: lookup failed");
}

TEST_CASE("restriction lists refuse what they do not implement and an open relay", "[smtpd][restrictions]") {
    auto bad = parse_restriction_list("smtpd_recipient_restrictions", "permit_mynetworks, reject_rhsbl_client x.y");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().text == "smtpd_recipient_restrictions: restriction \"reject_rhsbl_client\" is not implemented by kurir");
    auto open = parse({{"smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated"}});
    REQUIRE_FALSE(open);
    CHECK(open.error().text.find("open relay") != std::string::npos);
    // Recipient restrictions alone may carry the relay check (Postfix before 2.10).
    auto old_style = parse({{"smtpd_relay_restrictions", ""},
                            {"smtpd_recipient_restrictions", "permit_mynetworks,\n\treject_unauth_destination"}});
    REQUIRE(old_style);
    CHECK(old_style->lists.at(4).steps.size() == 2);
}

TEST_CASE("sender login keys and names", "[smtpd][restrictions]") {
    CHECK(sender_login_keys("Boss@Corp.Test") == std::vector<std::string>{"boss@corp.test", "@corp.test"});
    CHECK(sender_login_keys("postmaster") == std::vector<std::string>{"postmaster"});
    CHECK(split_login_names("alice, bob\tcarol") == std::vector<std::string>{"alice", "bob", "carol"});
}

TEST_CASE("access table keys in Postfix's order", "[smtpd][restrictions]") {
    CHECK(host_access_keys("Mail.Example.COM.") == std::vector<std::string>{"mail.example.com", "example.com", "com"});
    CHECK(addr_access_keys("192.0.2.10") == std::vector<std::string>{"192.0.2.10", "192.0.2", "192.0", "192"});
    CHECK(addr_access_keys("2001:db8::1") == std::vector<std::string>{"2001:db8::1", "2001:db8", "2001"});
    CHECK(address_access_keys("Joe+List@Sub.Example.com", "+") ==
          std::vector<std::string>{"joe+list@sub.example.com", "joe@sub.example.com", "sub.example.com",
                                   "example.com", "com", "joe+list@", "joe@"});
    CHECK(address_access_keys("joe@example.com", "") ==
          std::vector<std::string>{"joe@example.com", "example.com", "com", "joe@"});
    CHECK(address_access_keys("", "+") == std::vector<std::string>{"<>"});
}

TEST_CASE("access table results: OK, REJECT, DEFER, DUNNO, codes, texts", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_client_restrictions", "check_client_access hash:/c"},
                    {"smtpd_sender_restrictions", "check_sender_access hash:/s"},
                    {"smtpd_relay_restrictions", "check_recipient_access hash:/r, reject_unauth_destination"}});
    auto f = stranger_to("u@far.example", false);
    // OK permits its own list only; the relay list still refuses.
    CHECK(verdict_with(l, f, {{"hash:/c|192.0.2.1", "OK"}}) == "554 5.7.1 <u@far.example>: Relay access denied");
    CHECK(verdict_with(l, f, {{"hash:/r|far.example", "OK"}}) == "OK");
    CHECK(verdict_with(l, f, {{"hash:/r|example", "OK"}}) == "OK");  // parent domains match
    CHECK(verdict_with(l, f, {{"hash:/r|u@", "1234"}}) == "OK");     // all-numeric is OK
    CHECK(verdict_with(l, f, {{"hash:/c|192.0.2", "REJECT"}}) ==
          "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied");
    CHECK(verdict_with(l, f, {{"hash:/c|192", "REJECT go away"}}) ==
          "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: go away");
    CHECK(verdict_with(l, f, {{"hash:/s|client.test", "DEFER 4.7.2 later"}}) ==
          "450 4.7.2 <a@client.test>: Sender address rejected: later");
    CHECK(verdict_with(l, f, {{"hash:/s|a@client.test", "550 5.7.0 no spam"}}) ==
          "550 5.7.0 <a@client.test>: Sender address rejected: no spam");
    CHECK(verdict_with(l, f, {{"hash:/s|a@", "421 closing"}}) ==
          "421 4.7.1 <a@client.test>: Sender address rejected: closing");
    // DUNNO stops the search at the first key found: the parent is not tried.
    CHECK(verdict_with(l, stranger_to("u@ours.test", true),
                       {{"hash:/r|u@ours.test", "DUNNO"}, {"hash:/r|ours.test", "REJECT"}}) == "OK");
    // Lower case result words work too, and the codes are the admin's.
    auto codes = lists({{"smtpd_recipient_restrictions", "check_recipient_access hash:/r"},
                        {"smtpd_relay_restrictions", "reject_unauth_destination"},
                        {"access_map_reject_code", "550"}, {"access_map_defer_code", "451"}});
    auto ours = stranger_to("u@ours.test", true);
    CHECK(verdict_with(codes, ours, {{"hash:/r|ours.test", "reject"}}) ==
          "550 5.7.1 <u@ours.test>: Recipient address rejected: Access denied");
    CHECK(verdict_with(codes, ours, {{"hash:/r|ours.test", "defer"}}) ==
          "451 4.7.1 <u@ours.test>: Recipient address rejected: Access denied");
}

TEST_CASE("access table results that are restrictions, and restriction classes", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_restriction_classes", "strict, lenient"},
                    {"strict", "reject_non_fqdn_sender, reject"},
                    {"lenient", "permit"},
                    {"smtpd_recipient_restrictions", "check_recipient_access hash:/r, permit_mynetworks, lenient"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"}});
    auto f = stranger_to("u@ours.test", true);
    CHECK(verdict_with(l, f, {{"hash:/r|ours.test", "strict"}}) ==
          "554 5.7.1 <u@ours.test>: Recipient address rejected: Access denied");
    CHECK(verdict_with(l, f, {{"hash:/r|ours.test", "permit_mynetworks, reject"}}) ==
          "554 5.7.1 <u@ours.test>: Recipient address rejected: Access denied");
    f.client_in_mynetworks = true;
    CHECK(verdict_with(l, f, {{"hash:/r|ours.test", "permit_mynetworks, reject"}}) == "OK");
    // A class used directly in a list.
    CHECK(verdict_with(l, stranger_to("u@ours.test", true), {}) == "OK");
    // A result that is neither an action nor a restriction is an error.
    auto bad = check_restrictions(l, SmtpStage::rcpt, stranger_to("u@ours.test", true),
                                  RestrictionLookups{tables_of({{"hash:/r|ours.test", "bogus_thing"}}), no_owners});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().text.find("bogus_thing") != std::string::npos);
    // A class that names itself ends, as an error.
    auto loop = lists({{"smtpd_restriction_classes", "again"}, {"again", "again"},
                       {"smtpd_recipient_restrictions", "again"},
                       {"smtpd_relay_restrictions", "reject_unauth_destination"}});
    REQUIRE_FALSE(check_restrictions(loop, SmtpStage::rcpt, f, RestrictionLookups{tables_of({}), no_owners}));
    // A class without restrictions, or named like a restriction, is refused.
    CHECK_FALSE(parse({{"smtpd_restriction_classes", "empty"}, {"smtpd_relay_restrictions", "reject"}}));
    CHECK_FALSE(parse({{"smtpd_restriction_classes", "permit"}, {"smtpd_relay_restrictions", "reject"}}));
}

TEST_CASE("pattern tables are asked with the whole keys only, as Postfix asks them", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_client_restrictions", "check_client_access pcre:/c"},
                    {"smtpd_sender_restrictions", "check_sender_access regexp:/s"},
                    {"smtpd_relay_restrictions", "check_recipient_access regexp:/r, reject_unauth_destination"}});
    auto f = stranger_to("u@ours.test", true);
    f.client_name = "mail.client.test";
    // Partial keys (parent domains, address prefixes, "user@") are never
    // asked of a pattern table: only the names and addresses themselves.
    std::vector<std::string> asked;
    AccessLookup record = [&](std::string_view table, std::string_view key) -> util::Result<std::optional<std::string>> {
        asked.push_back(std::string(table) + "|" + std::string(key));
        return std::optional<std::string>();
    };
    auto v = check_restrictions(l, SmtpStage::rcpt, f, RestrictionLookups{record, no_owners});
    REQUIRE(v);
    CHECK(asked == std::vector<std::string>{"pcre:/c|mail.client.test", "pcre:/c|192.0.2.1", "regexp:/s|a@client.test",
                                            "regexp:/r|u@ours.test"});
    // A hash table is asked every key, in Postfix's order.
    asked.clear();
    auto h = lists({{"smtpd_sender_restrictions", "check_sender_access hash:/s"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"}});
    REQUIRE(check_restrictions(h, SmtpStage::rcpt, f, RestrictionLookups{record, no_owners}));
    CHECK(asked == std::vector<std::string>{"hash:/s|a@client.test", "hash:/s|client.test", "hash:/s|test", "hash:/s|a@"});
}

TEST_CASE("a table that cannot answer is an error, not a permit", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_client_restrictions", "check_client_access hash:/broken"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"}});
    auto v = check_restrictions(l, SmtpStage::rcpt, stranger_to("u@ours.test", true),
                                RestrictionLookups{tables_of({}), no_owners});
    REQUIRE_FALSE(v);
    CHECK(v.error().text.find("hash:/broken") != std::string::npos);
    CHECK_FALSE(parse({{"smtpd_client_restrictions", "check_client_access"}, {"smtpd_relay_restrictions", "reject"}}));
    CHECK_FALSE(parse({{"smtpd_client_restrictions", "check_client_access permit"},
                       {"smtpd_relay_restrictions", "reject"}}));
}

TEST_CASE("HOLD, DISCARD and WARN results", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_sender_restrictions", "check_sender_access hash:/s, reject"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"}});
    auto f = stranger_to("u@ours.test", true);
    // HOLD goes on with the list (here to a reject); DISCARD permits.
    auto held = full_verdict(l, f, {{"hash:/s|client.test", "HOLD"}});
    CHECK(held.refused);
    CHECK(held.hold == std::optional<std::string>("<a@client.test>: Sender address triggers HOLD action"));
    auto dropped = full_verdict(l, f, {{"hash:/s|client.test", "DISCARD spam source"}});
    CHECK_FALSE(dropped.refused);
    CHECK(dropped.discard == std::optional<std::string>("<a@client.test>: Sender address spam source"));
    auto warned = full_verdict(lists({{"smtpd_sender_restrictions", "check_sender_access hash:/s"},
                                      {"smtpd_relay_restrictions", "reject_unauth_destination"}}),
                               f, {{"hash:/s|client.test", "WARN look at this"}});
    CHECK_FALSE(warned.refused);
    CHECK(warned.warnings == std::vector<std::string>{"<a@client.test>: Sender address look at this"});
}

TEST_CASE("helo and address syntax restrictions", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_helo_restrictions", "reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname"},
                    {"smtpd_sender_restrictions", "reject_non_fqdn_sender"},
                    {"smtpd_relay_restrictions", "reject_non_fqdn_recipient, reject_unauth_destination"}});
    auto f = stranger_to("u@ours.test", true);
    CHECK(verdict(l, f) == "OK");
    f.helo = "bad_host!";
    CHECK(verdict(l, f) == "501 5.5.2 <bad_host!>: Helo command rejected: Invalid name");
    f.helo = "localhost";
    CHECK(verdict(l, f) == "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname");
    f.helo = "[192.0.2.1]";
    CHECK(verdict(l, f) == "OK");
    f.sender = "joe";
    CHECK(verdict(l, f) == "504 5.5.2 <joe>: Sender address rejected: need fully-qualified address");
    f.sender = "";  // the null sender is fine
    CHECK(verdict(l, f) == "OK");
    f.recipient = "u@ours";
    CHECK(verdict(l, f) == "504 5.5.2 <u@ours>: Recipient address rejected: need fully-qualified address");
    for (const char* ok : {"mx.example.com", "a-b.example", "[192.0.2.1]", "[IPv6:2001:db8::1]", "host_1.example."})
        CHECK(valid_helo_hostname(ok));
    for (const char* bad : {"", "-x.example", "x-.example", "a..b", "192.0.2.1", "host.123", "[300.1]", "a b"})
        CHECK_FALSE(valid_helo_hostname(bad));
}

TEST_CASE("reject_unlisted_recipient and the unknown local recipient code", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_recipient_restrictions", "reject_unlisted_recipient, permit"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"},
                    {"unknown_local_recipient_reject_code", "450"}});
    auto f = stranger_to("nobody@ours.test", true);
    CHECK(verdict(l, f) == "OK");
    f.recipient_unknown = true;
    CHECK(verdict(l, f) == "450 5.1.1 <nobody@ours.test>: Recipient address rejected: User unknown in local "
                           "recipient table");
}

TEST_CASE("relay domains: the relay recipient table's code and text; relay_domains_reject_code",
          "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_recipient_restrictions", "reject_unlisted_recipient, permit"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"},
                    {"unknown_relay_recipient_reject_code", "450"},
                    {"relay_domains_reject_code", "550"}});
    auto f = stranger_to("nobody@relay.test", true);
    f.recipient_relay = true;
    f.recipient_unknown = true;
    CHECK(verdict(l, f) == "450 5.1.1 <nobody@relay.test>: Recipient address rejected: User unknown in relay "
                           "recipient table");
    CHECK(verdict(l, stranger_to("u@example.org", false)) == "550 5.7.1 <u@example.org>: Relay access denied");
    CHECK(!parse({{"relay_domains_reject_code", "450"}}));  // a reject code must be 5xx
}

TEST_CASE("virtual alias domains: Postfix's text and unknown_virtual_alias_reject_code", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_recipient_restrictions", "reject_unlisted_recipient, permit"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"},
                    {"unknown_virtual_alias_reject_code", "450"}});
    auto f = stranger_to("nobody@alias.test", true);
    f.recipient_alias = true;
    f.recipient_unknown = true;
    CHECK(verdict(l, f) == "450 5.1.1 <nobody@alias.test>: Recipient address rejected: User unknown in virtual alias "
                           "table");
    CHECK(!parse({{"unknown_virtual_alias_reject_code", "250"}}));
}

TEST_CASE("smtpd_delay_reject = no: each list at its own command", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_delay_reject", "no"},
                    {"smtpd_client_restrictions", "check_client_access hash:/c"},
                    {"smtpd_helo_restrictions", "reject_non_fqdn_helo_hostname"},
                    {"smtpd_sender_restrictions", "reject_non_fqdn_sender"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"}});
    auto f = stranger_to("u@far.example", false);
    f.helo = "localhost";
    Tables refuse_client{{"hash:/c|192.0.2.1", "REJECT"}};
    CHECK(verdict_with(l, f, refuse_client, SmtpStage::connect) ==
          "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied");
    CHECK(verdict_with(l, f, {}, SmtpStage::helo) ==
          "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname");
    f.sender = "joe";
    CHECK(verdict_with(l, f, {}, SmtpStage::mail) ==
          "504 5.5.2 <joe>: Sender address rejected: need fully-qualified address");
    // At RCPT only the relay and recipient lists are left.
    CHECK(verdict_with(l, f, refuse_client, SmtpStage::rcpt) == "554 5.7.1 <u@far.example>: Relay access denied");
    // With the default (yes) nothing is decided before RCPT.
    auto delayed = lists({{"smtpd_client_restrictions", "reject"}, {"smtpd_relay_restrictions", "reject"}});
    CHECK(verdict_with(delayed, f, {}, SmtpStage::connect) == "OK");
    CHECK(verdict_with(delayed, f, {}, SmtpStage::mail) == "OK");
}

TEST_CASE("smtpd_data_restrictions at DATA", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_data_restrictions", "permit_mynetworks, reject"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"}});
    auto f = stranger_to("", false);
    CHECK(verdict_with(l, f, {}, SmtpStage::data) == "554 5.7.1 <DATA>: Data command rejected: Access denied");
    f.client_in_mynetworks = true;
    CHECK(verdict_with(l, f, {}, SmtpStage::data) == "OK");
}

namespace {
// Runs a check, answering each DNS question it asks from `zone` (a missing
// question is not_found), as smtpd does asynchronously.
RestrictionVerdict with_dns(const RestrictionPolicy& l, SmtpFacts f, const DnsAnswers& zone,
                            std::vector<DnsQuestion>* asked = nullptr) {
    DnsAnswers known;
    f.dns = &known;
    for (int round = 0; round < 10; ++round) {
        auto v = check_restrictions(l, SmtpStage::rcpt, f, RestrictionLookups{tables_of({}), no_owners});
        REQUIRE(v);
        if (!v->needs_dns) return *v;
        if (asked) asked->push_back(*v->needs_dns);
        auto it = zone.find(*v->needs_dns);
        DnsAnswer a;
        a.status = DnsAnswer::Status::not_found;
        known[*v->needs_dns] = it == zone.end() ? a : it->second;
    }
    FAIL("the check kept asking");
    return {};
}
DnsAnswer found(std::vector<std::string> records) {
    DnsAnswer a;
    a.status = DnsAnswer::Status::found;
    a.records = std::move(records);
    return a;
}
DnsAnswer status(DnsAnswer::Status s) {
    DnsAnswer a;
    a.status = s;
    return a;
}
}  // namespace

TEST_CASE("reject_unknown_sender_domain and _recipient_domain: MX, then A, then AAAA", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_sender_restrictions", "reject_unknown_sender_domain"},
                    {"smtpd_relay_restrictions", "permit_mynetworks, reject_unauth_destination"},
                    {"smtpd_recipient_restrictions", "reject_unknown_recipient_domain"}});
    auto f = stranger_to("u@far.example", false);
    f.client_in_mynetworks = true;  // may relay: the recipient's domain is looked up
    f.sender = "a@nowhere.example";
    std::vector<DnsQuestion> asked;
    auto v = with_dns(l, f, {}, &asked);
    CHECK(v.reply == "450 4.1.8 <a@nowhere.example>: Sender address rejected: Domain not found");
    CHECK(asked == std::vector<DnsQuestion>{{DnsType::mx, "nowhere.example"}});  // NXDOMAIN: no more questions
    // No MX but an AAAA record: fine; then the recipient's domain is checked.
    asked.clear();
    DnsAnswers zone{{{DnsType::mx, "v6only.example"}, status(DnsAnswer::Status::no_data)},
                    {{DnsType::a, "v6only.example"}, status(DnsAnswer::Status::no_data)},
                    {{DnsType::aaaa, "v6only.example"}, found({"2001:db8::1"})},
                    {{DnsType::mx, "far.example"}, found({"10 mx.far.example"})}};
    f.sender = "a@v6only.example";
    CHECK(with_dns(l, f, zone, &asked).refused == false);
    CHECK(asked.size() == 4);
    // A temporary failure defers, whatever the reject code.
    auto codes = lists({{"smtpd_sender_restrictions", "reject_unknown_sender_domain"},
                        {"smtpd_relay_restrictions", "reject_unauth_destination"},
                        {"unknown_address_reject_code", "550"}});
    f.sender = "a@flaky.example";
    CHECK(with_dns(codes, f, {{{DnsType::mx, "flaky.example"}, status(DnsAnswer::Status::failed)}}).reply ==
          "450 4.1.8 <a@flaky.example>: Sender address rejected: Domain not found");
    f.sender = "a@gone.example";
    CHECK(with_dns(codes, f, {}).reply == "550 5.1.8 <a@gone.example>: Sender address rejected: Domain not found");
    // A null MX refuses mail, as Postfix 3 says it.
    f.sender = "a@nullmx.example";
    CHECK(with_dns(codes, f, {{{DnsType::mx, "nullmx.example"}, found({"0 "})}}).reply ==
          "556 5.1.10 <a@nullmx.example>: Sender address rejected: Domain nullmx.example does not accept mail (nullMX)");
    // Our own domains, the null sender and address literals are not looked up.
    asked.clear();
    f.sender = "";
    f.recipient = "u@[192.0.2.9]";
    CHECK_FALSE(with_dns(l, f, {}, &asked).refused);
    f.sender = "me@ours.test";
    f.sender_domain_ours = true;
    CHECK_FALSE(with_dns(l, f, {}, &asked).refused);
    CHECK(asked.empty());
    // The recipient's domain.
    auto r = stranger_to("u@gone.example", false);
    r.client_in_mynetworks = true;
    r.sender = "a@far.example";
    CHECK(with_dns(l, r, {{{DnsType::mx, "far.example"}, found({"10 mx"})}}).reply ==
          "450 4.1.2 <u@gone.example>: Recipient address rejected: Domain not found");
}

TEST_CASE("reject_rbl_client and reject_rhsbl_sender", "[smtpd][restrictions]") {
    CHECK(dnsbl_name("192.0.2.1", "zen.example") == "1.2.0.192.zen.example");
    CHECK(dnsbl_name("2001:db8::1", "bl.example") ==
          "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
    CHECK(dnsbl_name("unknown", "zen.example").empty());
    auto l = lists({{"smtpd_client_restrictions", "permit_mynetworks, reject_rbl_client zen.example"},
                    {"smtpd_sender_restrictions", "reject_rhsbl_sender dbl.example=127.0.1.2"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"}});
    auto f = stranger_to("u@ours.test", true);
    CHECK_FALSE(with_dns(l, f, {}).refused);  // not listed
    DnsAnswers listed{{{DnsType::a, "1.2.0.192.zen.example"}, found({"127.0.0.2"})},
                      {{DnsType::txt, "1.2.0.192.zen.example"}, found({"see https://zen.example/q?192.0.2.1"})}};
    CHECK(with_dns(l, f, listed).reply ==
          "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.example; "
          "see https://zen.example/q?192.0.2.1");
    f.client_in_mynetworks = true;  // permit_mynetworks comes first
    CHECK_FALSE(with_dns(l, f, listed).refused);
    // A lookup that fails is not a listing (Postfix).
    f.client_in_mynetworks = false;
    CHECK_FALSE(with_dns(l, f, {{{DnsType::a, "1.2.0.192.zen.example"}, status(DnsAnswer::Status::failed)}}).refused);
    // rhsbl with a filter: only the listed value counts; no TXT, no reason.
    DnsAnswers sender_listed{{{DnsType::a, "client.test.dbl.example"}, found({"127.0.1.2"})}};
    CHECK(with_dns(l, f, sender_listed).reply ==
          "554 5.7.1 Service unavailable; Sender address [a@client.test] blocked using dbl.example");
    DnsAnswers other_value{{{DnsType::a, "client.test.dbl.example"}, found({"127.0.1.255"})}};
    CHECK_FALSE(with_dns(l, f, other_value).refused);
    CHECK_FALSE(parse({{"smtpd_client_restrictions", "reject_rbl_client"}, {"smtpd_relay_restrictions", "reject"}}));
    CHECK_FALSE(parse({{"smtpd_client_restrictions", "reject_rbl_client permit"},
                       {"smtpd_relay_restrictions", "reject"}}));
}

TEST_CASE("reject_unauth_pipelining and smtpd_end_of_data_restrictions", "[smtpd][restrictions]") {
    auto l = lists({{"smtpd_data_restrictions", "reject_unauth_pipelining"},
                    {"smtpd_end_of_data_restrictions", "check_sender_access hash:/s"},
                    {"smtpd_relay_restrictions", "reject_unauth_destination"}});
    auto f = stranger_to("", false);
    CHECK(verdict_with(l, f, {}, SmtpStage::data) == "OK");
    f.unauth_pipelining = true;
    CHECK(verdict_with(l, f, {}, SmtpStage::data) ==
          "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining");
    CHECK(verdict_with(l, f, {{"hash:/s|client.test", "REJECT too big for you"}}, SmtpStage::end_of_data) ==
          "554 5.7.1 <a@client.test>: Sender address rejected: too big for you");
    auto plain = lists({{"smtpd_end_of_data_restrictions", "reject"}, {"smtpd_relay_restrictions", "reject"}});
    CHECK(verdict_with(plain, f, {}, SmtpStage::end_of_data) ==
          "554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: Access denied");
}
