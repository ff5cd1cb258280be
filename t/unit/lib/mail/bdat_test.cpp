#include "mail/bdat.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace kurir::mail;
using Kind = BdatReader::Kind;
using Events = std::vector<std::pair<Kind, std::string>>;

TEST_CASE("parse_bdat_arg: a count and an optional LAST", "[bdat]") {
    struct Case {
        std::string arg;
        uint64_t size;
        bool last;
    };
    std::vector<Case> good = {
        {"0", 0, false},
        {"10", 10, false},
        {"0 LAST", 0, true},
        {"5 last", 5, true},
        {"5 LaSt", 5, true},
        {" 3  LAST", 3, true},  // Postfix splits on white space
        {"3\tLAST", 3, true},
        {"007", 7, false},
        {"9223372036854775807", 9223372036854775807ULL, false},
    };
    for (const auto& c : good) {
        INFO(c.arg);
        auto r = parse_bdat_arg(c.arg);
        REQUIRE(r);
        CHECK(r->size == c.size);
        CHECK(r->last == c.last);
    }
    for (std::string bad : {"", " ", "x5", "-5", "+5", "5x", "5 LASTX", "5 LAS", "5 LAST X", "5 6",
                            "9223372036854775808", "99999999999999999999999999", "0x10", "5\x01", "5 L\xc1ST"}) {
        INFO(bad);
        CHECK_FALSE(parse_bdat_arg(bad));
    }
}

TEST_CASE("BdatChunk: takes exactly its size from what is at hand", "[bdat]") {
    BdatChunk c(10);
    CHECK(c.take(4) == 4);
    CHECK(c.remaining() == 6);
    CHECK(c.take(100) == 6);  // the rest is the next command
    CHECK(c.done());
    CHECK(c.take(5) == 0);
    BdatChunk huge(999999999999ULL);  // a claim costs no memory
    CHECK(huge.take(65536) == 65536);
    CHECK(huge.remaining() == 999999999999ULL - 65536);
    CHECK(BdatChunk(0).done());
}

namespace {
Events read_all(const std::vector<std::string>& chunks, size_t max_line = 4096, size_t* bare = nullptr) {
    BdatReader r(max_line);
    Events out;
    auto sink = [&](Kind k, std::string_view t) { out.emplace_back(k, std::string(t)); };
    for (const auto& c : chunks) r.feed(c, sink);
    r.finish(sink);
    if (bare) *bare = r.bare_newlines();
    return out;
}
}  // namespace

TEST_CASE("BdatReader: CRLF ends lines; CR, NUL and dots are content", "[bdat]") {
    size_t bare = 99;
    std::string nul("a\0b", 3);
    auto ev = read_all({"Subject: x\r\n\r\n.\r\n..\r\nbare\rcr\r\n" + nul + "\r\n"}, 4096, &bare);
    Events want = {{Kind::line, "Subject: x"}, {Kind::line, ""},     {Kind::line, "."},
                   {Kind::line, ".."},         {Kind::line, "bare\rcr"}, {Kind::line, nul}};
    CHECK(ev == want);
    CHECK(bare == 0);
}

TEST_CASE("BdatReader: \\r\\n.\\r\\n inside the content never ends anything", "[bdat]") {
    auto ev = read_all({"a\r\n.\r\nMAIL FROM:<x@y>\r\n"});
    Events want = {{Kind::line, "a"}, {Kind::line, "."}, {Kind::line, "MAIL FROM:<x@y>"}};
    CHECK(ev == want);
}

TEST_CASE("BdatReader: a line split between chunks is one line, the CRLF too", "[bdat]") {
    Events want = {{Kind::line, "hello world"}, {Kind::line, "two"}};
    CHECK(read_all({"hello ", "world\r", "\ntwo\r\n"}) == want);
    CHECK(read_all({"hello world\r\n", "two\r", "\n"}) == want);
    CHECK(read_all({"h", "", "ello world\r\ntwo", "\r\n"}) == want);
}

TEST_CASE("BdatReader: bare LF ends a line and is counted", "[bdat]") {
    size_t bare = 0;
    auto ev = read_all({"a\nb\r\nc\n"}, 4096, &bare);
    Events want = {{Kind::line, "a"}, {Kind::line, "b"}, {Kind::line, "c"}};
    CHECK(ev == want);
    CHECK(bare == 2);
}

TEST_CASE("BdatReader: the last line without a line end, a trailing CR", "[bdat]") {
    Events want = {{Kind::line, "a"}, {Kind::line, "tail"}};
    CHECK(read_all({"a\r\ntail"}) == want);
    Events cr = {{Kind::line, "x\r"}};
    CHECK(read_all({"x\r"}) == cr);  // no LF came: the CR is content
    CHECK(read_all({""}).empty());
    CHECK(read_all({"a\r\n"}) == Events{{Kind::line, "a"}});
}

TEST_CASE("BdatReader: long lines in pieces of max_line, however split", "[bdat]") {
    std::string line(25, 'x');
    Events want = {{Kind::part, std::string(8, 'x')},
                   {Kind::part, std::string(8, 'x')},
                   {Kind::part, std::string(8, 'x')},
                   {Kind::line, "x"}};
    CHECK(read_all({line + "\r\n"}, 8) == want);
    CHECK(read_all({line.substr(0, 3), line.substr(3) + "\r", "\n"}, 8) == want);
    // Exactly max_line long, the CR held back until its LF arrives.
    Events exact = {{Kind::line, std::string(8, 'y')}};
    CHECK(read_all({std::string(8, 'y') + "\r", "\n"}, 8) == exact);
}
