#include "cleanup/cleanup_checks.hpp"
#include "cleanup/cleanup_message.hpp"

#include "mail/queue_file.hpp"
#include "mail/record.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <regex.h>

#include <algorithm>

using namespace kurir;
using namespace kurir::cleanup;
using namespace kurir::mail;
using Lines = std::vector<std::string>;

TEST_CASE("parse_check_action reads Postfix's actions", "[cleanup][checks]") {
    struct Row {
        const char* value;
        bool in_header;
        CheckAction action;
        const char* text;
        const char* warning;  // "" = none
    };
    const Row rows[] = {
        {"REJECT", true, CheckAction::reject, "", ""},
        {"reject  spam here", true, CheckAction::reject, "spam here", ""},
        {"WARN", true, CheckAction::warn, "", ""},
        {"WARN look at this", false, CheckAction::warn, "look at this", ""},
        {"HOLD", true, CheckAction::hold, "", ""},
        {"HOLD quarantined", true, CheckAction::hold, "quarantined", ""},
        {"DISCARD", true, CheckAction::discard, "", ""},
        {"IGNORE", true, CheckAction::ignore, "", ""},
        {"DUNNO", true, CheckAction::dunno, "", ""},
        {"OK", true, CheckAction::dunno, "", ""},
        {"REPLACE X-Subject: was here", true, CheckAction::replace, "X-Subject: was here", ""},
        {"REPLACE not a header", true, CheckAction::dunno, "not a header",
         "bad REPLACE header text \"not a header\" in header_checks map -- need \"headername: headervalue\""},
        {"REPLACE any body text", false, CheckAction::replace, "any body text", ""},
        {"REPLACE", true, CheckAction::dunno, "", "REPLACE action without text in header_checks map"},
        {"PREPEND X-Seen: yes", true, CheckAction::prepend, "X-Seen: yes", ""},
        {"PREPEND", false, CheckAction::dunno, "", "PREPEND action without text in header_checks map"},
        {"REDIRECT other@example.org", true, CheckAction::redirect, "other@example.org", ""},
        {"REDIRECT nobody", true, CheckAction::dunno, "nobody",
         "bad REDIRECT target \"nobody\" in header_checks map -- need user@domain"},
        {"FILTER smtp:[127.0.0.1]:10025", true, CheckAction::filter, "smtp:[127.0.0.1]:10025", ""},
        {"FILTER", true, CheckAction::dunno, "", "missing FILTER command argument in header_checks map"},
        {"FILTER nocolon", true, CheckAction::dunno, "nocolon",
         "bad FILTER command nocolon in header_checks -- need transport:destination"},
        {"FROB it", true, CheckAction::dunno, "it", "unknown command in header_checks map: FROB it"},
    };
    for (const auto& r : rows) {
        INFO(r.value);
        auto v = parse_check_action(r.value, r.in_header, "header_checks");
        CHECK(v.action == r.action);
        CHECK(v.text == r.text);
        CHECK(v.warning == r.warning);
    }
}

TEST_CASE("reject_reason puts 5.7.1 in front unless the text has a code", "[cleanup][checks]") {
    CHECK(reject_reason("") == "5.7.1 message content rejected");
    CHECK(reject_reason("no spam") == "5.7.1 no spam");
    CHECK(reject_reason("5.7.0 go away") == "5.7.0 go away");
    CHECK(reject_reason("4.7.1 try later") == "4.7.1 try later");
    CHECK(reject_reason("2.0.0 fine") == "4.0.0 fine");
    CHECK(reject_reason("5.7.1x words") == "5.7.1 5.7.1x words");
}

TEST_CASE("check_log_line has Postfix's layout", "[cleanup][checks]") {
    CheckLogContext c{"4QabcXyz", "client.test[127.0.0.1]", "s@x", "r@y", "ESMTP", "client.test"};
    CHECK(check_log_line(c, "reject", "header", "Subject: spam", "5.7.1 message content rejected") ==
          "4QabcXyz: reject: header Subject: spam from client.test[127.0.0.1]; from=<s@x> to=<r@y> proto=ESMTP "
          "helo=<client.test>: 5.7.1 message content rejected");
    CheckLogContext local{"4QabcXyz", "local", "u@host", "r@y", "", ""};
    CHECK(check_log_line(local, "warning", "body", "line\nnext " + std::string(300, 'x'), "") ==
          "4QabcXyz: warning: body line next " + std::string(190, 'x') + " from local; from=<u@host> to=<r@y>");
}

namespace {

constexpr const char* kQueueId = "2Tf9kN0005BCDFG";

Config config(const std::string& extra = "") {
    auto c = Config::from_text("myhostname = mx.example\nmydomain = example\n" + extra, "/tmp/x");
    if (!c) FAIL(c.error().text);
    return std::move(*c);
}

// POSIX extended, case-insensitive, as a regexp: table's default (not
// std::regex: g++ 12 at -O3 warns inside <regex>).
bool regex_search_icase(const std::string& re, std::string_view key) {
    regex_t compiled;
    if (::regcomp(&compiled, re.c_str(), REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0) FAIL("bad test regex " + re);
    bool found = ::regexec(&compiled, std::string(key).c_str(), 0, nullptr, 0) == 0;
    ::regfree(&compiled);
    return found;
}

// A small table for the tests: the first rule whose regex matches the key.
CheckLookup table(std::vector<std::pair<std::string, std::string>> rules) {
    return [rules = std::move(rules)](std::string_view key) -> util::Result<std::optional<std::string>> {
        for (const auto& [re, action] : rules)
            if (regex_search_icase(re, key)) return action;
        return std::optional<std::string>();
    };
}

std::string stream(const Lines& lines, const std::string& origin = "smtp", const Lines& rcpts = {"rcpt@mx.example"}) {
    std::string s;
    rec_append(s, rec::attr, "origin=" + origin);
    if (origin == "smtp") {
        rec_append(s, rec::attr, "client_name=client.test");
        rec_append(s, rec::attr, "client_addr=127.0.0.1");
        rec_append(s, rec::attr, "helo=client.test");
        rec_append(s, rec::attr, "protocol=ESMTP");
    }
    rec_append(s, rec::sender, "s@x");
    for (const auto& r : rcpts) rec_append(s, rec::rcpt, r);
    rec_append(s, rec::message, "");
    for (const auto& l : lines) rec_append_line(s, l, 4096);
    rec_append(s, rec::content_end, "");
    return s;
}

struct Run {
    std::expected<void, Refusal> result;
    std::string file;
    CleanupOutput summary;
    Lines log;
    QueueEnvelope env;
    Lines content;
    std::vector<std::pair<char, size_t>> records;  // content records: type and length
};

util::Result<std::string> identity(std::string_view a) { return std::string(a); }

Run run(const Config& cfg, const std::string& bytes, CheckTables checks) {
    Run r;
    MessageBuilder b(cfg, kQueueId, 1700000000, 0, identity,
                     [&](std::string_view out) -> util::Result<void> {
                         r.file.append(out);
                         return {};
                     },
                     std::move(checks));
    r.result = b.feed(bytes);
    r.log = b.take_log();
    if (!r.result) return r;
    REQUIRE(b.ended());
    auto patch = b.size_patch();
    r.file.replace(patch.offset, patch.bytes.size(), patch.bytes);
    r.summary = b.summary();
    auto env = parse_queue_file(r.file);
    if (!env) FAIL("output does not parse: " << env.error().text);
    r.env = *env;
    REQUIRE(for_each_content_line(r.file, r.env, [&](std::string_view l) { r.content.emplace_back(l); }));
    size_t pos = r.env.content_offset;
    RecView rv;
    while (pos < r.env.content_end && rec_next(r.file, pos, rv) == RecStatus::ok) r.records.emplace_back(rv.type, rv.data.size());
    long bytes_in = 0;
    for (const auto& l : r.content) bytes_in += static_cast<long>(l.size()) + 1;
    CHECK(r.env.content_size == bytes_in);  // the size follows every change
    return r;
}

bool has(const Lines& lines, const std::string& l) { return std::find(lines.begin(), lines.end(), l) != lines.end(); }

}  // namespace

TEST_CASE("MessageBuilder: header_checks actions, as Postfix applies them", "[cleanup][checks]") {
    Config cfg = config();
    Lines msg = {"Subject: hello", "X-Mailer: spamtool", "From: a@x", "", "body line", "more"};
    struct Row {
        const char* action;
        bool refused;
        char status;
        const char* reason;
        const char* log;  // expected log line ("" = none)
    };
    const char* ctx = " from client.test[127.0.0.1]; from=<s@x> to=<rcpt@mx.example> proto=ESMTP helo=<client.test>";
    const Row rows[] = {
        {"REJECT", true, '5', "message content rejected", "reject: header X-Mailer: spamtool{}: 5.7.1 message content rejected"},
        {"REJECT go away", true, '5', "go away", "reject: header X-Mailer: spamtool{}: 5.7.1 go away"},
        {"REJECT 4.7.1 later", true, '4', "later", "reject: header X-Mailer: spamtool{}: 4.7.1 later"},
        {"WARN", false, 0, "", "warning: header X-Mailer: spamtool{}"},
        {"WARN odd mailer", false, 0, "", "warning: header X-Mailer: spamtool{}: odd mailer"},
        {"HOLD", false, 0, "", "hold: header X-Mailer: spamtool{}"},
        {"DISCARD", false, 0, "", "discard: header X-Mailer: spamtool{}"},
        {"IGNORE", false, 0, "", ""},
        {"REPLACE X-Mailer: cleaned", false, 0, "", "replace: header X-Mailer: spamtool{}: X-Mailer: cleaned"},
        {"PREPEND X-Flag: yes", false, 0, "", "prepend: header X-Mailer: spamtool{}: X-Flag: yes"},
        {"REDIRECT trap@example.org", false, 0, "", "redirect: header X-Mailer: spamtool{}: trap@example.org"},
        {"FILTER smtp:[127.0.0.1]:10025", false, 0, "", "filter: header X-Mailer: spamtool{}: smtp:[127.0.0.1]:10025"},
        {"DUNNO", false, 0, "", ""},
    };
    for (const auto& row : rows) {
        INFO(row.action);
        CheckTables t;
        t.header = table({{"^X-Mailer: spamtool", row.action}});
        Run r = run(cfg, stream(msg), t);
        std::string want = row.log[0] ? std::string(kQueueId) + ": " + fmt::format(fmt::runtime(row.log), ctx) : "";
        if (want.empty())
            CHECK(r.log.empty());
        else
            CHECK(r.log == Lines{want});
        if (row.refused) {
            REQUIRE_FALSE(r.result);
            CHECK(r.result.error().status == row.status);
            CHECK(r.result.error().text == row.reason);
            CHECK(r.result.error().content);
            continue;
        }
        REQUIRE(r.result);
        std::string a = row.action;
        CHECK(r.summary.check_hold == (a == "HOLD"));
        CHECK(r.summary.check_discard == (a == "DISCARD"));
        CHECK(has(r.content, "X-Mailer: spamtool") == (a != "IGNORE" && !a.starts_with("REPLACE")));
        if (a.starts_with("REPLACE")) CHECK(has(r.content, "X-Mailer: cleaned"));
        if (a.starts_with("PREPEND")) {
            auto at = std::find(r.content.begin(), r.content.end(), "X-Flag: yes");
            REQUIRE(at != r.content.end());
            CHECK(*(at + 1) == "X-Mailer: spamtool");
        }
        REQUIRE(r.env.recipients.size() == 1);
        CHECK(r.env.recipients[0].address == (a.starts_with("REDIRECT") ? "trap@example.org" : "rcpt@mx.example"));
        CHECK(r.env.attr("content_filter") == (a.starts_with("FILTER") ? "smtp:[127.0.0.1]:10025" : ""));
        CHECK(has(r.content, "body line"));
    }
}

TEST_CASE("MessageBuilder: MIME headers go to mime_header_checks, the rest to header_checks", "[cleanup][checks]") {
    Config cfg = config();
    CheckTables t;
    t.header = table({{".", "WARN h"}});
    t.mime = table({{".", "WARN m"}});
    Run r = run(cfg, stream({"Subject: x", "Content-Type: text/plain", "MIME-Version: 1.0", "", "b"}), t);
    REQUIRE(r.result);
    REQUIRE(r.log.size() == 3);
    CHECK(r.log[0].find("header Subject: x from") != std::string::npos);
    CHECK(r.log[0].ends_with(": h"));
    CHECK(r.log[1].ends_with(": m"));
    CHECK(r.log[2].ends_with(": m"));
}

TEST_CASE("MessageBuilder: a folded header is looked up whole, lines joined by newlines", "[cleanup][checks]") {
    CheckTables t;
    std::vector<std::string> keys;
    t.header = [&](std::string_view k) -> util::Result<std::optional<std::string>> {
        keys.emplace_back(k);
        return std::optional<std::string>();
    };
    Run r = run(config(), stream({"Subject: one", "\ttwo", "To: a@x", "", "b"}), t);
    REQUIRE(r.result);
    CHECK(keys == Lines{"Subject: one\n\ttwo", "To: a@x"});
}

TEST_CASE("MessageBuilder: body_checks actions and body_checks_size_limit", "[cleanup][checks]") {
    Config cfg = config("body_checks_size_limit = 100\n");
    Lines msg = {"Subject: x", "", "first", "buy now", std::string(120, 'f'), "buy now late"};
    SECTION("REJECT") {
        CheckTables t;
        t.body = table({{"^buy now$", "REJECT"}});
        Run r = run(cfg, stream(msg), t);
        REQUIRE_FALSE(r.result);
        CHECK(r.result.error().status == '5');
        CHECK(r.log == Lines{std::string(kQueueId) +
                             ": reject: body buy now from client.test[127.0.0.1]; from=<s@x> to=<rcpt@mx.example> "
                             "proto=ESMTP helo=<client.test>: 5.7.1 message content rejected"});
    }
    SECTION("past the limit nothing is looked at") {
        CheckTables t;
        t.body = table({{"late", "REJECT"}});
        Run r = run(cfg, stream(msg), t);
        REQUIRE(r.result);
        CHECK(has(r.content, "buy now late"));
    }
    SECTION("IGNORE, REPLACE, PREPEND on body lines") {
        CheckTables t;
        t.body = table({{"^first$", "IGNORE"}, {"^buy now$", "REPLACE sell later"}, {"^f+$", "PREPEND note"}});
        Run r = run(cfg, stream(msg), t);
        REQUIRE(r.result);
        CHECK_FALSE(has(r.content, "first"));
        CHECK(has(r.content, "sell later"));
        CHECK_FALSE(has(r.content, "buy now"));
        auto at = std::find(r.content.begin(), r.content.end(), "note");
        REQUIRE(at != r.content.end());
        CHECK(*(at + 1) == std::string(120, 'f'));
    }
    SECTION("a REPLACE or PREPEND text is masked as the content is (cleanup_replace_stray_cr_lf)") {
        CheckTables t;
        t.body = table({{"^buy now$", "REPLACE sell\r.\rlater"}, {"^first$", "PREPEND a\n.\nb"}});
        Run r = run(cfg, stream(msg), t);
        REQUIRE(r.result);
        CHECK(has(r.content, "sell . later"));
        CHECK(has(r.content, "a . b"));
        for (const auto& l : r.content) CHECK(l.find_first_of("\r\n") == std::string::npos);
    }
    SECTION("REDIRECT and FILTER from the body still reach the envelope") {
        CheckTables t;
        t.body = table({{"^buy now$", "REDIRECT trap@example.org"}});
        Run r = run(cfg, stream(msg, "smtp", {"a@mx.example", "b@mx.example"}), t);
        REQUIRE(r.result);
        REQUIRE(r.env.recipients.size() == 1);
        CHECK(r.env.recipients[0].address == "trap@example.org");
        CHECK(r.summary.recipients == 1);
    }
}

TEST_CASE("MessageBuilder: checks stop after REJECT or DISCARD, HOLD is logged once", "[cleanup][checks]") {
    CheckTables t;
    t.header = table({{"^X-A", "DISCARD"}, {"^X-B", "HOLD"}, {"^X-H", "HOLD"}});
    Run r = run(config(), stream({"X-A: 1", "X-B: 2", "", "b"}), t);
    REQUIRE(r.result);
    CHECK(r.log.size() == 1);
    CHECK(r.summary.check_discard);
    CHECK_FALSE(r.summary.check_hold);
    Run h = run(config(), stream({"X-H: 1", "X-H: 2", "", "b"}), t);
    CHECK(h.log.size() == 1);
    CHECK(h.summary.check_hold);
}

TEST_CASE("MessageBuilder: a local submission is logged 'from local' without proto and helo", "[cleanup][checks]") {
    CheckTables t;
    t.header = table({{"^Subject: spam", "REJECT"}});
    Run r = run(config(), stream({"Subject: spam", "", "b"}, "local"), t);
    REQUIRE_FALSE(r.result);
    CHECK(r.log == Lines{std::string(kQueueId) +
                         ": reject: header Subject: spam from local; from=<s@x> to=<rcpt@mx.example>: 5.7.1 message "
                         "content rejected"});
}

TEST_CASE("MessageBuilder: bounces and forwarded copies are not inspected", "[cleanup][checks]") {
    CheckTables t;
    t.header = table({{".", "REJECT"}});
    t.body = table({{".", "REJECT"}});
    for (const char* origin : {"bounce", "forward"}) {
        Run r = run(config(), stream({"Subject: spam", "", "b"}, origin), t);
        CHECK(r.result);
        CHECK(r.log.empty());
    }
}

TEST_CASE("MessageBuilder: a table that fails defers the message, never passes it", "[cleanup][checks]") {
    CheckTables t;
    t.header = [](std::string_view) -> util::Result<std::optional<std::string>> {
        return util::fail("open /x: No such file");
    };
    Run r = run(config(), stream({"Subject: x", "", "b"}), t);
    REQUIRE_FALSE(r.result);
    CHECK(r.result.error().status == '4');
    CHECK(r.result.error().dsn == "4.3.0");
}

TEST_CASE("MessageBuilder: line_length_limit cuts long lines into pieces, delivery joins them", "[cleanup][checks]") {
    Config cfg = config("line_length_limit = 100\n");
    std::string long_body = std::string(250, 'b');
    std::vector<std::string> seen;
    CheckTables t;
    t.body = [&](std::string_view k) -> util::Result<std::optional<std::string>> {
        seen.emplace_back(k);
        return std::optional<std::string>();
    };
    Run r = run(cfg, stream({"Subject: x", "X-Long: " + std::string(300, 'h'), "", long_body}), t);
    REQUIRE(r.result);
    CHECK(has(r.content, long_body));
    CHECK(has(r.content, "X-Long: " + std::string(300, 'h')));
    for (const auto& [type, len] : r.records) CHECK(len <= 100);
    // body_checks see the pieces, as Postfix's
    CHECK(seen == Lines{std::string(100, 'b'), std::string(100, 'b'), std::string(50, 'b')});
}

TEST_CASE("MessageBuilder: a header over header_size_limit is cut, the next headers stay headers", "[cleanup][checks]") {
    Config cfg = config("header_size_limit = 1000\n");
    Run r = run(cfg, stream({"X-Huge: " + std::string(5000, 'h'), "Subject: after", "", "b"}), {});
    REQUIRE(r.result);
    auto blank = std::find(r.content.begin(), r.content.end(), "");
    REQUIRE(blank != r.content.end());
    CHECK(std::find(r.content.begin(), blank, "X-Huge: " + std::string(992, 'h')) != blank);
    CHECK(std::find(r.content.begin(), blank, "Subject: after") != blank);
    // A folded header is cut at its last line when that keeps 90% of the limit.
    Run f = run(cfg, stream({"X-F: " + std::string(950, 'a'), " " + std::string(500, 'c'), "", "b"}), {});
    REQUIRE(f.result);
    CHECK(has(f.content, "X-F: " + std::string(950, 'a')));
    CHECK_FALSE(has(f.content, " " + std::string(500, 'c')));
}

TEST_CASE("MessageBuilder: headers past 4 times header_size_limit in all are body", "[cleanup][checks]") {
    Config cfg = config("header_size_limit = 1000\n");
    Lines msg;
    for (int i = 0; i < 100; ++i) msg.push_back(fmt::format("X-N{}: {}", i, std::string(80, 'n')));
    msg.push_back("");
    msg.push_back("b");
    Run r = run(cfg, stream(msg), {});
    REQUIRE(r.result);
    auto blank = std::find(r.content.begin(), r.content.end(), "");
    REQUIRE(blank != r.content.end());
    long held = 0;
    for (auto it = r.content.begin(); it != blank; ++it) held += static_cast<long>(it->size());
    CHECK(held < 4 * 1000 + 1000);  // the client's headers within the bound, plus the ones cleanup adds
    CHECK(has(Lines(blank, r.content.end()), msg[60]));
}

TEST_CASE("MessageBuilder: part headers go to mime_header_checks, an attached message's to nested_header_checks",
          "[cleanup][checks]") {
    Lines msg = {"Subject: outer",
                 "MIME-Version: 1.0",
                 "Content-Type: multipart/mixed;",
                 "\tboundary=\"BOUND\"",
                 "",
                 "preamble",
                 "--BOUND",
                 "Content-Type: text/plain",
                 "X-Part: one",
                 "",
                 "Subject: in a body, not a header",
                 "--BOUND",
                 "Content-Type: message/rfc822",
                 "",
                 "Subject: nested",
                 "Content-Type: text/plain",
                 "",
                 "nested body",
                 "--BOUND--",
                 "epilogue"};
    std::vector<std::pair<std::string, std::string>> seen;  // table, key
    auto spy = [&](std::string name) {
        return [&seen, name](std::string_view k) -> util::Result<std::optional<std::string>> {
            seen.emplace_back(name, std::string(k));
            return std::optional<std::string>();
        };
    };
    CheckTables t{spy("header"), spy("mime"), spy("nested"), spy("body")};
    Run r = run(config(), stream(msg), t);
    REQUIRE(r.result);
    using P = std::pair<std::string, std::string>;
    std::vector<P> want = {{"header", "Subject: outer"},
                           {"mime", "MIME-Version: 1.0"},
                           {"mime", "Content-Type: multipart/mixed;\n\tboundary=\"BOUND\""},
                           {"body", "preamble"},
                           {"body", "--BOUND"},
                           {"mime", "Content-Type: text/plain"},
                           {"mime", "X-Part: one"},
                           {"body", "Subject: in a body, not a header"},
                           {"body", "--BOUND"},
                           {"mime", "Content-Type: message/rfc822"},
                           {"nested", "Subject: nested"},
                           {"mime", "Content-Type: text/plain"},
                           {"body", "nested body"},
                           {"body", "--BOUND--"},
                           {"body", "epilogue"}};
    CHECK(seen == want);
    // The message comes out as it went in.
    auto blank = std::find(r.content.begin(), r.content.end(), "");
    REQUIRE(blank != r.content.end());
    CHECK(Lines(blank + 1, r.content.end()) == Lines(msg.begin() + 5, msg.end()));

    SECTION("actions apply inside parts") {
        CheckTables a;
        a.mime = table({{"^X-Part:", "REPLACE X-Part: cleaned"}, {"^Content-Type: text/plain", "PREPEND X-Seen: yes"}});
        a.nested = table({{"^Subject: nested", "IGNORE"}});
        Run b = run(config(), stream(msg), a);
        REQUIRE(b.result);
        CHECK(has(b.content, "X-Part: cleaned"));
        CHECK_FALSE(has(b.content, "X-Part: one"));
        CHECK_FALSE(has(b.content, "Subject: nested"));
        CHECK(std::count(b.content.begin(), b.content.end(), "X-Seen: yes") == 2);
        CHECK(has(b.content, "nested body"));
    }
    SECTION("REJECT by a part header") {
        CheckTables a;
        a.mime = table({{"^Content-Type: message/rfc822", "REJECT no attached messages"}});
        Run b = run(config(), stream(msg), a);
        REQUIRE_FALSE(b.result);
        CHECK(b.result.error().text == "no attached messages");
    }
}

TEST_CASE("MessageBuilder: IGNORE of a long line's last piece still ends the line (found by cleanup_fuzz)",
          "[cleanup][checks]") {
    Config cfg = config("line_length_limit = 10\n");
    CheckTables t;
    t.body = table({{"^tail$", "IGNORE"}});
    Run r = run(cfg, stream({"Subject: x", "", std::string(10, 'a') + "tail", "next"}), t);
    REQUIRE(r.result);
    CHECK(r.content.back() == "next");
    CHECK(has(r.content, std::string(10, 'a')));
}
