#include "mail/address.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("parse_path accepts RFC 5321 paths", "[address]") {
    struct Case {
        std::string text, address, rest;
    };
    std::vector<Case> cases = {
        {"<a@b>", "a@b", ""},
        {"<>", "", ""},
        {"<> SIZE=0", "", "SIZE=0"},
        {"<@r1,@r2:a@b>", "a@b", ""},                 // source route dropped
        {"<@relay.example:user@example.org>", "user@example.org", ""},
        {"a@b", "a@b", ""},                           // without brackets
        {"a@b SIZE=10", "a@b", "SIZE=10"},
        {"  <a@b>", "a@b", ""},                       // leading spaces
        {"<a@b> SIZE=10 BODY=8BITMIME", "a@b", "SIZE=10 BODY=8BITMIME"},
        {"<a@b>   SIZE=10", "a@b", "SIZE=10"},
        {"<postmaster>", "postmaster", ""},
        {"<Postmaster@Example.COM>", "Postmaster@Example.COM", ""},  // case kept
        {"<\"john doe\"@x>", "john doe@x", ""},       // quoted local part -> internal form
        {"<\"a\\\"b\"@x>", "a\"b@x", ""},              // escaped quote
        {"<\"a\\\\b\"@x>", "a\\b@x", ""},              // escaped backslash
        {"<\"a>b\"@x>", "a>b@x", ""},                 // '>' inside quotes
        {"<\"a@b\"@x>", "a@b@x", ""},
        {"<\"\"@x>", "@x", ""},
        {"<\"john doe\">", "john doe", ""},
        {"<\xc3\xa9l\xc3\xa8ve@example.org>", "\xc3\xa9l\xc3\xa8ve@example.org", ""},  // 8-bit local part
        {"<a.b+tag@sub.example.org>", "a.b+tag@sub.example.org", ""},
        {"<!#$%&'*+-/=?^_`{|}~@x>", "!#$%&'*+-/=?^_`{|}~@x", ""},
        {"<a@[192.0.2.1]>", "a@[192.0.2.1]", ""},
        {"<a@[IPv6:2001:db8::1]>", "a@[IPv6:2001:db8::1]", ""},
        {"<a@example.org.>", "a@example.org.", ""},
        {"<a@under_score.example>", "a@under_score.example", ""},
        // A UTF-8 domain (RFC 6531); smtpd takes it only after SMTPUTF8.
        {"<a@\xc3\xa9.example>", "a@\xc3\xa9.example", ""},
    };
    for (const auto& c : cases) {
        INFO("path: " << c.text);
        auto r = parse_path(c.text);
        REQUIRE(r);
        CHECK(r->address == c.address);
        CHECK(r->rest == c.rest);
    }
}

TEST_CASE("parse_path rejects bad paths", "[address]") {
    struct Case {
        const char* what;
        std::string text;
    };
    std::vector<Case> cases = {
        {"empty", ""},
        {"only spaces", "   "},
        {"missing '>'", "<a@b"},
        {"missing '>' with params", "<a@b SIZE=1"},
        {"'>' only inside quotes", "<\"a>b@x>"},
        {"text after '>' without space", "<a@b>x"},
        {"text after '<>' without space", "<>SIZE=1"},
        {"control character", "<a\x01@b>"},
        {"DEL", "<a\x7f@b>"},
        {"tab", "<a\tb@c>"},
        {"NUL in local part", std::string("<a\0b@c>", 7)},
        {"NUL in domain", std::string("<a@b\0c>", 7)},
        {"control character in quotes", "<\"a\x01\"@b>"},
        {"escaped control character in quotes", "<\"a\\\x01\"@b>"},
        {"NUL in quotes", std::string("<\"a\0\"@b>", 8)},
        {"space in unquoted local part", "<a b@c>"},
        {"text after quoted local part", "<\"a\"b@x>"},
        {"unterminated quote", "<\"ab@x>"},
        {"empty local part", "<@x>"},
        {"empty local part, bare", "@x"},
        {"source route without colon", "<@r1,@r2>"},
        {"source route to nothing", "<@r1:>"},
        {"empty domain", "<a@>"},
        {"empty label", "<a@b..c>"},
        {"leading dot in domain", "<a@.b>"},
        {"bad domain character", "<a@b!c>"},
        {"8-bit domain that is not UTF-8", "<a@\xe9.example>"},
        {"UTF-8 domain with an overlong form", "<a@\xc0\xafx.example>"},
        {"label over 63", "<a@" + std::string(64, 'x') + ".example>"},
        {"bad address literal", "<a@[1.2.3.4>"},
        {"address literal with bad characters", "<a@[1.2.3.4/8]>"},
        {"two '<'", "<<a@b>>"},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            auto r = parse_path(c.text);
            CHECK(!r);
        }
    }
}

TEST_CASE("parse_path: length limits", "[address]") {
    std::string local254 = std::string(252, 'a');  // + "@b" = 254
    auto ok = parse_path("<" + local254 + "@b>");
    REQUIRE(ok);
    CHECK(ok->address.size() == 254);
    auto too_long = parse_path("<" + local254 + "a@b>");
    REQUIRE(!too_long);
    CHECK_THAT(too_long.error().text, Catch::Contains("too long"));
    CHECK(!parse_path("<" + std::string(1000, 'a') + "@b>"));
    CHECK(!parse_path(std::string(1000, 'a') + "@b"));
    // The limit is on the address, not on a source route in front of it.
    std::string route = "@" + std::string(60, 'r') + ".example:";
    auto routed = parse_path("<" + route + std::string(150, 'a') + "@b>");
    REQUIRE(routed);
    CHECK(routed->address.size() == 152);
    // Quoted: the internal form counts.
    auto quoted = parse_path("<\"" + std::string(252, ' ') + "\"@b>");
    REQUIRE(quoted);
    CHECK(quoted->address.size() == 254);
}

TEST_CASE("quote_address leaves the null sender empty", "[address]") { CHECK(quote_address("").empty()); }

TEST_CASE("quote_address gives the external form that parses back", "[address]") {
    struct Case {
        std::string internal, external;
    };
    std::vector<Case> cases = {
        {"a@b", "a@b"},
        {"postmaster", "postmaster"},
        {"john doe@x", "\"john doe\"@x"},
        {"a\"b@x", "\"a\\\"b\"@x"},
        {"a\\b@x", "\"a\\\\b\"@x"},
        {".a@x", "\".a\"@x"},
        {"a.@x", "\"a.\"@x"},
        {"a..b@x", "\"a..b\"@x"},
        {"a.b@x", "a.b@x"},
        {"a@b@x", "\"a@b\"@x"},
        {"@x", "\"\"@x"},
        {"\xc3\xa9@x", "\xc3\xa9@x"},
        {"a>b@x", "\"a>b\"@x"},
        {"a(b)@x", "\"a(b)\"@x"},
    };
    for (const auto& c : cases) {
        INFO("internal: " << c.internal);
        CHECK(quote_address(c.internal) == c.external);
        auto back = parse_address(quote_address(c.internal));
        REQUIRE(back);
        CHECK(*back == c.internal);
        if (!c.internal.empty()) {
            std::string text = "<" + quote_address(c.internal) + "> X=1";  // rest views into it
            auto path = parse_path(text);
            REQUIRE(path);
            CHECK(path->address == c.internal);
            CHECK(path->rest == "X=1");
        }
    }
}

TEST_CASE("parse_address accepts external and internal forms", "[address]") {
    struct Case {
        std::string text, internal;
    };
    std::vector<Case> cases = {
        {"a@b", "a@b"},
        {"user", "user"},
        {"\"john doe\"@x", "john doe@x"},
        {"john doe@x", "john doe@x"},  // already internal
        {"a\"b@x", "a\"b@x"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto r = parse_address(c.text);
        REQUIRE(r);
        CHECK(*r == c.internal);
    }
    for (std::string bad : std::vector<std::string>{"a@", "a@b..c", "a\x01@b", "a b@", std::string("a\0@b", 4)}) {
        INFO("\"" << bad << "\"");
        CHECK(!parse_address(bad));
    }
    CHECK(!parse_address(std::string(300, 'a') + "@b"));
}

TEST_CASE("local_part, domain_part, lowercase", "[address]") {
    CHECK(local_part("a@b") == "a");
    CHECK(domain_part("a@b") == "b");
    CHECK(local_part("a@b@c") == "a@b");
    CHECK(domain_part("a@b@c") == "c");
    CHECK(local_part("user") == "user");
    CHECK(domain_part("user") == "");
    CHECK(local_part("") == "");
    CHECK(domain_part("user@") == "");
    CHECK(lowercase("AbC.Example\xc3\x89") == "abc.example\xc3\x89");
}

TEST_CASE("safe_mailbox_name", "[address]") {
    for (std::string ok : std::vector<std::string>{"alice", "bob.smith", "a", "user+ext", "x-y_z", "\xc3\xa9l\xc3\xa8ve", "a.b.c",
                           "john doe"}) {
        INFO("\"" << ok << "\"");
        CHECK(safe_mailbox_name(ok));
    }
    for (std::string bad : std::vector<std::string>{"", ".x", ".", "..", "a/b", "/etc", "a..b", "a\x01", "a\nb", "a\x7f",
                            std::string("a\0b", 3), "x/..", std::string(256, 'a')}) {
        INFO("\"" << bad << "\"");
        CHECK(!safe_mailbox_name(bad));
    }
}

// The internal form keeps a quoted local part unquoted, so a quoted local
// part that holds '@' and has no domain reads as local@domain afterwards:
// <"user@other.example"> becomes "user@other.example", whose domain_part is
// other.example, and quote_address cannot give back a form that parses.
TEST_CASE("parse_path: '@' inside a quoted local part without a domain stays local",
          "[address]") {
    for (std::string text : std::vector<std::string>{"<\"x@\">", "<\"a@b c\">", "<\"user@other.example\">"}) {
        INFO(text);
        auto p = parse_path(text);
        if (!p) continue;  // refusing such a path is fine too
        CHECK(domain_part(p->address).empty());
        std::string again = "<" + quote_address(p->address) + ">";
        auto q = parse_path(again);
        REQUIRE(q);
        CHECK(q->address == p->address);
    }
}

// parse_address limits the length of its input, not of its result.
TEST_CASE("parse_address: results longer than kMaxAddress are refused", "[address]") {
    std::string internal = std::string(251, 'a') + " b@c";  // 255 bytes, internal form
    REQUIRE(internal.size() == 255);
    auto r = parse_address(internal);
    CHECK((!r || r->size() <= kMaxAddress));
}
