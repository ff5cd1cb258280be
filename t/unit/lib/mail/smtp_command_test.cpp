#include "mail/smtp_command.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;
using Params = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("parse_smtp_command: verbs in any case, and the argument", "[smtp_command]") {
    struct Case {
        std::string line;
        SmtpVerb verb;
        std::string arg;
    };
    std::vector<Case> cases = {
        {"HELO client.example", SmtpVerb::helo, "client.example"},
        {"helo client.example", SmtpVerb::helo, "client.example"},
        {"HeLo x", SmtpVerb::helo, "x"},
        {"EHLO [192.0.2.1]", SmtpVerb::ehlo, "[192.0.2.1]"},
        {"MAIL FROM:<a@b> SIZE=10", SmtpVerb::mail, "FROM:<a@b> SIZE=10"},
        {"mail from:<a@b>", SmtpVerb::mail, "from:<a@b>"},
        {"RCPT TO:<c@d>", SmtpVerb::rcpt, "TO:<c@d>"},
        {"DATA", SmtpVerb::data, ""},
        {"data", SmtpVerb::data, ""},
        {"RSET", SmtpVerb::rset, ""},
        {"NOOP anything", SmtpVerb::noop, "anything"},
        {"QUIT", SmtpVerb::quit, ""},
        {"QUIT  \t ", SmtpVerb::quit, ""},  // trailing blanks removed
        {"VRFY postmaster", SmtpVerb::vrfy, "postmaster"},
        {"HELP", SmtpVerb::help, ""},
        {"EXPN list", SmtpVerb::expn, "list"},
        {"STARTTLS", SmtpVerb::starttls, ""},
        {"starttls", SmtpVerb::starttls, ""},
        {"AUTH PLAIN AHVzZXIAcGFzcw==", SmtpVerb::auth, "PLAIN AHVzZXIAcGFzcw=="},
        {"BDAT 100 LAST", SmtpVerb::bdat, "100 LAST"},
        {"HELO  x  ", SmtpVerb::helo, " x"},  // one space after the verb is taken
        {"XYZZY", SmtpVerb::unknown, ""},
        {"MAILX FROM:<a@b>", SmtpVerb::unknown, "FROM:<a@b>"},
        {"MAI", SmtpVerb::unknown, ""},
        {"", SmtpVerb::unknown, ""},
        {" HELO x", SmtpVerb::unknown, "HELO x"},
        {"GET / HTTP/1.0", SmtpVerb::unknown, "/ HTTP/1.0"},
    };
    for (const auto& c : cases) {
        INFO("line: \"" << c.line << "\"");
        auto cmd = parse_smtp_command(c.line);
        CHECK(cmd.verb == c.verb);
        CHECK(cmd.arg == c.arg);
    }
}

TEST_CASE("parse_mail_args: keyword, path, parameters", "[smtp_command]") {
    struct Case {
        std::string arg, keyword, address;
        Params params;
    };
    std::vector<Case> cases = {
        {"FROM:<a@b>", "FROM:", "a@b", {}},
        {"from:<a@b>", "FROM:", "a@b", {}},
        {"From:<a@b>", "FROM:", "a@b", {}},
        {"FROM: <a@b>", "FROM:", "a@b", {}},
        {"FROM:    <a@b>", "FROM:", "a@b", {}},
        {"FROM:<>", "FROM:", "", {}},
        {"FROM:a@b", "FROM:", "a@b", {}},
        {"FROM:<a@b> size=10 body=8BITMIME", "FROM:", "a@b", {{"SIZE", "10"}, {"BODY", "8BITMIME"}}},
        {"FROM:<a@b>  SIZE=10   SMTPUTF8", "FROM:", "a@b", {{"SIZE", "10"}, {"SMTPUTF8", ""}}},
        {"FROM:<> RET=HDRS ENVID=QQ314159", "FROM:", "", {{"RET", "HDRS"}, {"ENVID", "QQ314159"}}},
        {"FROM:<a@b> AUTH=<>", "FROM:", "a@b", {{"AUTH", "<>"}}},
        {"FROM:<a@b> SIZE=", "FROM:", "a@b", {{"SIZE", ""}}},
        {"TO:<c@d>", "TO:", "c@d", {}},
        {"to: <c@d>", "TO:", "c@d", {}},
        {"TO:<c@d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d", "TO:", "c@d",
         {{"NOTIFY", "SUCCESS,FAILURE"}, {"ORCPT", "rfc822;c@d"}}},
        {"TO:<\"john doe\"@x> x-custom=a=b", "TO:", "john doe@x", {{"X-CUSTOM", "a=b"}}},
        {"TO:<@r1,@r2:c@d>", "TO:", "c@d", {}},
    };
    for (const auto& c : cases) {
        INFO("arg: \"" << c.arg << "\"");
        auto r = parse_mail_args(c.arg, c.keyword);
        REQUIRE(r);
        CHECK(r->address == c.address);
        CHECK(r->params == c.params);
    }
}

TEST_CASE("parse_mail_args rejects bad syntax", "[smtp_command]") {
    struct Case {
        std::string arg, keyword;
    };
    std::vector<Case> cases = {
        {"", "FROM:"},
        {"FROM:", "FROM:"},
        {"FROM", "FROM:"},
        {"FRM:<a@b>", "FROM:"},
        {"FROM <a@b>", "FROM:"},
        {"FROM :<a@b>", "FROM:"},
        {"TO:<a@b>", "FROM:"},
        {"FROM:<a@b>", "TO:"},
        {"FROM:<a@b", "FROM:"},
        {"FROM:<a@b>SIZE=10", "FROM:"},
        {"FROM:<a@b> =10", "FROM:"},
        {"FROM:<a@b> SI_ZE=10", "FROM:"},
        {"FROM:<a@b> SIZE:10", "FROM:"},
        {"FROM:<a@b> SIZE=1\x7f", "FROM:"},
        {"FROM:<a@b> SIZE=\x01", "FROM:"},
        {"FROM:<a@b> SIZE=\xc3\xa9", "FROM:"},
        {"FROM:<a@b> \xc3\xa9=1", "FROM:"},
        {"FROM:<a@b> SIZE=1\tBODY=7BIT", "FROM:"},
        {"FROM:<a\x01@b>", "FROM:"},
    };
    for (const auto& c : cases) {
        INFO("arg: \"" << c.arg << "\" keyword " << c.keyword);
        CHECK(!parse_mail_args(c.arg, c.keyword));
    }
}

// ---------------------------------------------------------------------------
// DataReader

namespace {

using Kind = DataReader::Kind;
using Events = std::vector<std::pair<Kind, std::string>>;

struct Run {
    Events events;
    size_t consumed = 0;
    bool ended = false;
    size_t bare = 0;
};

// Feeds the stream in the given chunks, as a server would: a chunk is fed
// until the reader stops taking bytes.
Run feed_chunks(std::string_view stream, const std::vector<size_t>& cuts, size_t max_line) {
    DataReader dr(max_line);
    Run run;
    auto sink = [&](Kind k, std::string_view text) { run.events.emplace_back(k, std::string(text)); };
    size_t start = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(stream.size());
    for (size_t end : ends) {
        if (end < start) continue;
        std::string chunk(stream.substr(start, end - start));  // a copy: the reader may not keep views
        size_t n = dr.feed(chunk, sink);
        run.consumed += n;
        start = end;
        if (dr.ended()) {
            CHECK(n <= chunk.size());
            break;
        }
        CHECK(n == chunk.size());
    }
    run.ended = dr.ended();
    run.bare = dr.bare_newlines();
    return run;
}

Run feed_whole(std::string_view stream, size_t max_line = 4096) { return feed_chunks(stream, {}, max_line); }

Run feed_bytes(std::string_view stream, size_t max_line = 4096) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
    return feed_chunks(stream, cuts, max_line);
}

// The message as the lines it holds (parts joined).
std::vector<std::string> joined_lines(const Events& ev) {
    std::vector<std::string> out;
    std::string cur;
    for (const auto& [k, t] : ev) {
        if (k == Kind::part) cur += t;
        if (k == Kind::line) {
            out.push_back(cur + t);
            cur.clear();
        }
    }
    return out;
}

std::string visible(std::string_view s) {
    std::string out;
    for (char ch : s) out += ch == '\r' ? "<CR>" : ch == '\n' ? "<LF>" : std::string(1, ch);
    return out;
}

void check_same(const Run& a, const Run& b) {
    CHECK(a.events == b.events);
    CHECK(a.consumed == b.consumed);
    CHECK(a.ended == b.ended);
    CHECK(a.bare == b.bare);
}

// Whole, byte by byte, and every split in two give the same result.
Run check_every_split(std::string_view stream, size_t max_line = 4096) {
    Run whole = feed_whole(stream, max_line);
    {
        INFO("byte by byte");
        check_same(feed_bytes(stream, max_line), whole);
    }
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
        INFO("split at " << cut);
        check_same(feed_chunks(stream, {cut}, max_line), whole);
    }
    return whole;
}

}  // namespace

TEST_CASE("DataReader: lines, dot-unstuffing and the end, in every split", "[smtp_command][data]") {
    std::string msg =
        "Subject: test\r\n"
        "\r\n"
        "..dotted\r\n"
        "...two\r\n"
        ".\tx\r\n"
        "no dot . here\r\n"
        " .indented\r\n"
        "\r\n"
        ".\r\n";
    std::string next = "QUIT\r\n";
    Run run = check_every_split(msg + next);
    CHECK(run.ended);
    CHECK(run.consumed == msg.size());  // QUIT is left for the command parser
    CHECK(run.bare == 0);
    Events want = {{Kind::line, "Subject: test"}, {Kind::line, ""},
                   {Kind::line, ".dotted"},        {Kind::line, "..two"},
                   {Kind::line, "\tx"},           {Kind::line, "no dot . here"},
                   {Kind::line, " .indented"},    {Kind::line, ""},
                   {Kind::end, ""}};
    CHECK(run.events == want);
}

TEST_CASE("DataReader: an empty message ends at once", "[smtp_command][data]") {
    Run run = check_every_split(".\r\nMAIL FROM:<a@b>\r\n");
    CHECK(run.ended);
    CHECK(run.consumed == 3);
    CHECK(run.events == Events{{Kind::end, ""}});
}

TEST_CASE("DataReader: without CRLF.CRLF the message does not end", "[smtp_command][data]") {
    for (std::string s : std::vector<std::string>{"", "abc", "abc\r\n", "abc\r\n.", "abc\r\n.\r", "abc\r\n. \r\n", "abc\r\n.x\r\n",
                          "abc\r\n..\r\n"}) {
        INFO("stream: " << visible(s));
        Run run = check_every_split(s);
        CHECK(!run.ended);
        CHECK(run.consumed == s.size());
        for (const auto& e : run.events) CHECK(e.first != Kind::end);
    }
}

TEST_CASE("DataReader: smuggling sequences never end the message", "[smtp_command][data]") {
    struct Case {
        std::string seq;
        std::vector<std::string> lines;  // what "hello<seq>world" becomes
        size_t bare;
    };
    std::vector<Case> cases = {
        {"\n.\n", {"hello", "", "world"}, 2},
        {"\r.\r", {"hello\r.\rworld"}, 0},
        {"\n.\r\n", {"hello", "", "world"}, 1},
        {"\r\n.\n", {"hello", "", "world"}, 1},
        {"\n.\n.\r\n", {"hello", "", "", "world"}, 2},
        {"\r\n.\r\r\n", {"hello", "\r", "world"}, 0},  // ". CR" then CRLF is a line ".\r"
    };
    for (const auto& c : cases) {
        std::string head = "Subject: t\r\n\r\nhello";
        std::string msg = head + c.seq + "world\r\n.\r\n";
        std::string next = "MAIL FROM:<x@y>\r\n";
        INFO("sequence: " << visible(c.seq));
        Run run = check_every_split(msg + next);
        CHECK(run.ended);
        CHECK(run.consumed == msg.size());
        CHECK(run.bare == c.bare);
        std::vector<std::string> want = {"Subject: t", ""};
        want.insert(want.end(), c.lines.begin(), c.lines.end());
        CHECK(joined_lines(run.events) == want);
        REQUIRE(!run.events.empty());
        CHECK(run.events.back().first == Kind::end);
        size_t ends = 0;
        for (const auto& e : run.events) ends += e.first == Kind::end;
        CHECK(ends == 1);
    }
}

TEST_CASE("DataReader: bare LFs are counted and end lines", "[smtp_command][data]") {
    Run run = check_every_split("a\nb\r\nc\n\n.\r\n\r\n.\r\n");
    CHECK(run.ended);
    CHECK(run.bare == 3);
    CHECK(joined_lines(run.events) == std::vector<std::string>{"a", "b", "c", "", "", ""});
}

TEST_CASE("DataReader: after the end nothing more is consumed", "[smtp_command][data]") {
    DataReader dr;
    Events ev;
    auto sink = [&](Kind k, std::string_view t) { ev.emplace_back(k, std::string(t)); };
    std::string s = "x\r\n.\r\nRSET\r\n";
    CHECK(dr.feed(s, sink) == 6);
    CHECK(dr.ended());
    CHECK(dr.feed("more\r\n.\r\n", sink) == 0);
    CHECK(ev == Events{{Kind::line, "x"}, {Kind::end, ""}});
}

TEST_CASE("DataReader: a line longer than max_line comes out as parts then a line", "[smtp_command][data]") {
    const size_t max = 8;
    std::string long_line = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string msg = "short\r\n" + long_line + "\r\n.." + long_line + "\r\n" + std::string(max, 'm') +
                      "\r\n.\r\n";
    Run run = feed_bytes(msg, max);
    CHECK(run.ended);
    CHECK(run.consumed == msg.size());
    CHECK(joined_lines(run.events) ==
          std::vector<std::string>{"short", long_line, "." + long_line, std::string(max, 'm')});
    size_t parts = 0;
    for (const auto& [k, t] : run.events) {
        if (k == Kind::part) ++parts;
        CHECK(t.size() <= max + 1);
    }
    CHECK(parts >= 6);
    // A long line's pieces: never an end, even when a piece is "." alone.
    std::string tricky = std::string(max + 1, 'x') + ".\r\n.\r\n";
    Run t = feed_bytes(tricky, max);
    CHECK(t.ended);
    CHECK(t.consumed == tricky.size());
    CHECK(joined_lines(t.events) == std::vector<std::string>{std::string(max + 1, 'x') + "."});
    // A CR at a piece boundary still pairs with its LF.
    std::string cr = std::string(max, 'c') + "\r\n.\r\n";
    Run c = feed_bytes(cr, max);
    CHECK(c.ended);
    CHECK(c.bare == 0);
    CHECK(joined_lines(c.events) == std::vector<std::string>{std::string(max, 'c')});
}

// The header says lines longer than max_line come out in pieces, and pieces
// must not depend on how the bytes arrived. feed() only splits a line when
// its end is not in the same buffer: a long line inside one buffer comes out
// as one Kind::line of any length.
TEST_CASE("DataReader: long lines come out the same in every split", "[smtp_command][data]") {
    const size_t max = 8;
    std::string msg = "0123456789abcdefghij\r\n.\r\n";
    Run whole = feed_whole(msg, max);
    for (const auto& [k, t] : whole.events) CHECK(t.size() <= max + 1);
    check_every_split(msg, max);
}

// Dot-unstuffing of a long line that follows a bare LF depends on the split:
// the line path unstuffs any leading '.', the part path only after CRLF.
TEST_CASE("DataReader: unstuffing a long line after a bare LF does not depend on the split",
          "[smtp_command][data]") {
    const size_t max = 8;
    std::string msg = "x\n.0123456789abcdef\r\n.\r\n";
    Run whole = feed_whole(msg, max);
    Run bytes = feed_bytes(msg, max);
    CHECK(joined_lines(whole.events) == joined_lines(bytes.events));
}
