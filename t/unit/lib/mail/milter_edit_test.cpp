#include "mail/milter_config.hpp"
#include "mail/milter_edit.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace kurir::mail;
using namespace std::string_literals;

TEST_CASE("milter edits: each F record round-trips, malformed ones are refused", "[milter]") {
    for (const MilterEdit& e : {MilterEdit{'i', 3, "X-A", "v\n\tw"}, MilterEdit{'m', 1, "Subject", ""},
                                MilterEdit{'h', 0, "X-B", "v"},
                                MilterEdit{'b', 0, "body\r\nbytes\0x"s, ""}, MilterEdit{'+', 0, "<c@d>", "NOTIFY=NEVER"},
                                MilterEdit{'-', 0, "<c@d>", ""}, MilterEdit{'e', 0, "<>", ""},
                                MilterEdit{'q', 0, "a reason", ""}}) {
        auto d = decode_milter_edit(encode_milter_edit(e));
        INFO(e.op);
        REQUIRE(d);
        CHECK(d->op == e.op);
        CHECK(d->index == e.index);
        CHECK(d->first == e.first);
        CHECK(d->second == e.second);
    }
    for (std::string bad : {""s, "z"s, "i1\0X-A"s, "ix\0X-A\0v"s, "i1\0Bad Name\0v"s, "i1\0X\0v\nnot folded"s,
                            "m1\0X\0v\0extra"s, "+a\nb\0"s, "-"s, "+<>\0"s, "-<>"s, "i01\0X\0v"s, "q\x01"s, "e<a>"s,
                            "+<v@ex.com> NOTIFY=NEVER\0"s, "e<a@b> SIZE=1\0"s, "hX"s,
                            "h1\0X\0v"s, "hBad Name\0v"s}) {
        INFO(bad);
        CHECK_FALSE(decode_milter_edit(bad));
    }
}

TEST_CASE("milter headers become P fields: LF lines, a space after the colon", "[milter]") {
    CHECK(milter_header_field("X-A", "v") == "X-A: v");
    CHECK(milter_header_field("X-A", " v") == "X-A: v");
    CHECK(milter_header_field("X-A", "one\r\n\ttwo") == "X-A: one\n\ttwo");
    CHECK(milter_header_field("X-A", "one\n \n two") == "X-A: one\n two");  // a blank line would end the header
}

TEST_CASE("the message as a milter sees it: header fields, then the body with CRLF", "[milter]") {
    std::vector<std::string> lines{"From: a@b", "Subject:  two spaces", "X-Folded: one", "\ttwo", "", "body", ""};
    auto m = milter::split_message(lines, false);
    REQUIRE(m.headers.size() == 3);
    CHECK(m.headers[0] == std::pair<std::string, std::string>("From", "a@b"));
    CHECK(m.headers[1].second == " two spaces");
    CHECK(m.headers[2].second == "one\n\ttwo");
    CHECK(m.body == "body\r\n\r\n");
    CHECK(milter::split_message(lines, true).headers[0].second == " a@b");
    // no header at all: everything is body
    auto bare = milter::split_message(std::vector<std::string>{"not a header", "x"}, false);
    CHECK(bare.headers.empty());
    CHECK(bare.body == "not a header\r\nx\r\n");
    // The same over one text, as smtpd and cleanup keep the message.
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    auto t = milter::split_message(std::string_view(text), false);
    CHECK(t.headers == m.headers);
    CHECK(t.body == m.body);
    CHECK(milter::split_message(std::string_view("H: v\n\n\n\nb\n"), false).body == "\r\n\r\nb\r\n");
    CHECK(milter::split_message(std::string_view("H: v\n"), false).body.empty());
}

TEST_CASE("milter steps offered: all but rejected recipients; fewer for old versions", "[milter]") {
    CHECK((milter::offered_steps(6) & milter::step::rcpt_rejected) == 0);
    CHECK((milter::offered_steps(6) & milter::step::no_reply_eoh) != 0);
    CHECK(milter::offered_steps(2) == 0x7f);
}
