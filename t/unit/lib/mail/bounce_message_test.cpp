#include "mail/bounce_message.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

using namespace kurir::mail;

namespace {

constexpr long kArrival = 1795413600;  // Mon, 23 Nov 2026 06:00:00 UTC
constexpr long kNow = 1795428062;      // Mon, 23 Nov 2026 10:01:02 UTC
constexpr long kUntil = 1795845600;    // Sat, 28 Nov 2026 06:00:00 UTC

constexpr std::string_view kOriginal =
    "Return-Path: <alice@example.com>\n"
    "From: Alice <alice@example.com>\n"
    "To: bob@example.org\n"
    "Subject: lunch\n"
    "\n"
    "See you at noon.\n";

NoticeRecipient bob() {
    NoticeRecipient r;
    r.address = "bob@example.org";
    r.original = "bob@example.org";
    r.action = "failed";
    r.status = "5.1.1";
    r.diagnostic = "550 5.1.1 <bob@example.org>: user unknown";
    r.diagnostic_is_smtp = true;
    r.remote_mta = "mx.example.org";
    return r;
}

NoticeInput failure_input() {
    NoticeInput in;
    in.kind = NoticeKind::failure;
    in.queue_id = "4Q1abc2XyzF";
    in.reporting_mta = "mx.example.com";
    in.from = "MAILER-DAEMON@mx.example.com (Mail Delivery System)";
    in.to = "alice@example.com";
    in.arrival_time = kArrival;
    in.now = kNow;
    in.boundary = "4Q1abc2XyzF.1795428062";
    in.message_id = "<20261123100102.4Q1abc2XyzF@mx.example.com>";
    in.recipients = {bob()};
    in.original = kOriginal;
    return in;
}

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        lines.emplace_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

struct MimePart {
    std::vector<std::string> header;
    std::string content;  // whole lines, each ended by "\n"
};

struct Notice {
    std::vector<std::string> header;
    std::string boundary;
    std::string preamble;
    std::vector<MimePart> parts;
};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// A strict reader for the layout the notice promises: every header line a
// field or a fold, the boundary from the folded Content-Type, an empty line
// before each boundary line, nothing after the closing boundary line.
Notice parse(const std::string& out) {
    REQUIRE(!out.empty());
    REQUIRE(out.back() == '\n');
    REQUIRE(out.find('\r') == std::string::npos);
    REQUIRE(out.find('\0') == std::string::npos);
    auto lines = split_lines(out);
    Notice n;
    size_t i = 0;
    for (; i < lines.size() && !lines[i].empty(); ++i) {
        const auto& l = lines[i];
        bool fold = l[0] == ' ' || l[0] == '\t';
        INFO("header line: " << l);
        CHECK((fold || l.find(": ") != std::string::npos));
        if (fold && starts_with(l, "\tboundary=\"")) {
            REQUIRE(lines[i - 1] == "Content-Type: multipart/report; report-type=delivery-status;");
            REQUIRE(l.back() == '"');
            n.boundary = l.substr(11, l.size() - 12);
        }
        n.header.push_back(l);
    }
    REQUIRE(i < lines.size());
    REQUIRE(!n.boundary.empty());
    REQUIRE(n.boundary.size() <= 70);
    std::string delim = "--" + n.boundary;
    std::vector<std::vector<std::string>> segments(1);
    bool closed = false;
    for (++i; i < lines.size(); ++i) {
        const auto& l = lines[i];
        REQUIRE(!closed);  // nothing after the closing boundary line
        if (l.find(n.boundary) == std::string::npos) {
            segments.back().push_back(l);
            continue;
        }
        INFO("boundary line: " << l);
        REQUIRE((l == delim || l == delim + "--"));
        REQUIRE(!segments.back().empty());
        REQUIRE(segments.back().back().empty());  // Postfix's empty line before each boundary
        segments.back().pop_back();
        if (l == delim)
            segments.emplace_back();
        else
            closed = true;
    }
    REQUIRE(closed);
    for (const auto& l : segments[0]) n.preamble += l + "\n";
    for (size_t s = 1; s < segments.size(); ++s) {
        MimePart p;
        size_t j = 0;
        for (; j < segments[s].size() && !segments[s][j].empty(); ++j) p.header.push_back(segments[s][j]);
        REQUIRE(j < segments[s].size());
        for (++j; j < segments[s].size(); ++j) p.content += segments[s][j] + "\n";
        n.parts.push_back(p);
    }
    return n;
}

bool has_line(const std::vector<std::string>& lines, std::string_view line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

bool has_line(const std::string& text, std::string_view line) { return has_line(split_lines(text), line); }

std::string header_value(const std::vector<std::string>& header, std::string_view name) {
    for (const auto& l : header)
        if (starts_with(l, std::string(name) + ": ")) return l.substr(name.size() + 2);
    return "<absent>";
}

}  // namespace

TEST_CASE("notice_date formats UTC dates and clamps the range", "[bounce]") {
    CHECK(notice_date(0) == "Thu, 01 Jan 1970 00:00:00 +0000 (UTC)");
    CHECK(notice_date(kNow) == "Mon, 23 Nov 2026 10:01:02 +0000 (UTC)");
    CHECK(notice_date(kUntil) == "Sat, 28 Nov 2026 06:00:00 +0000 (UTC)");
    CHECK(notice_date(951782400) == "Tue, 29 Feb 2000 00:00:00 +0000 (UTC)");
    CHECK(notice_date(-1) == "Thu, 01 Jan 1970 00:00:00 +0000 (UTC)");
    CHECK(notice_date(253402300799L) == "Fri, 31 Dec 9999 23:59:59 +0000 (UTC)");
    CHECK(notice_date(std::numeric_limits<long>::max()) == "Fri, 31 Dec 9999 23:59:59 +0000 (UTC)");
    CHECK(notice_date(std::numeric_limits<long>::min()) == "Thu, 01 Jan 1970 00:00:00 +0000 (UTC)");
}

TEST_CASE("a one-recipient failure notice, whole", "[bounce]") {
    const std::string expected =
        "Date: Mon, 23 Nov 2026 10:01:02 +0000 (UTC)\n"
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "To: alice@example.com\n"
        "Auto-Submitted: auto-replied\n"
        "Message-Id: <20261123100102.4Q1abc2XyzF@mx.example.com>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status;\n"
        "\tboundary=\"4Q1abc2XyzF.1795428062/mx.example.com\"\n"
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        "This is a MIME-encapsulated message.\n"
        "\n"
        "--4Q1abc2XyzF.1795428062/mx.example.com\n"
        "Content-Description: Notification\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        "This is the mail system at host mx.example.com.\n"
        "\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n"
        "\n"
        "For further assistance, please send mail to postmaster.\n"
        "\n"
        "If you do so, please include this problem report. You can\n"
        "delete your own text from the attached returned message.\n"
        "\n"
        "                   The mail system\n"
        "\n"
        "<bob@example.org>: host mx.example.org said: 550 5.1.1 <bob@example.org>: user\n"
        "    unknown\n"
        "\n"
        "--4Q1abc2XyzF.1795428062/mx.example.com\n"
        "Content-Description: Delivery report\n"
        "Content-Type: message/delivery-status\n"
        "\n"
        "Reporting-MTA: dns; mx.example.com\n"
        "X-Kurir-Queue-ID: 4Q1abc2XyzF\n"
        "Arrival-Date: Mon, 23 Nov 2026 06:00:00 +0000 (UTC)\n"
        "\n"
        "Final-Recipient: rfc822; bob@example.org\n"
        "Original-Recipient: rfc822; bob@example.org\n"
        "Action: failed\n"
        "Status: 5.1.1\n"
        "Remote-MTA: dns; mx.example.org\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: user unknown\n"
        "\n"
        "--4Q1abc2XyzF.1795428062/mx.example.com\n"
        "Content-Description: Undelivered Message\n"
        "Content-Type: message/rfc822\n"
        "\n"
        "Return-Path: <alice@example.com>\n"
        "From: Alice <alice@example.com>\n"
        "To: bob@example.org\n"
        "Subject: lunch\n"
        "\n"
        "See you at noon.\n"
        "\n"
        "--4Q1abc2XyzF.1795428062/mx.example.com--\n";
    CHECK(build_notice(failure_input()) == expected);
}

TEST_CASE("a failure notice has the header and the three parts in order", "[bounce]") {
    auto n = parse(build_notice(failure_input()));
    std::vector<std::string> names;
    for (const auto& l : n.header) names.push_back(l.substr(0, l.find(':')));
    CHECK(names == std::vector<std::string>{"Date", "From", "Subject", "To", "Auto-Submitted", "Message-Id",
                                            "MIME-Version", "Content-Type", "\tboundary=\"" + n.boundary + "\"",
                                            "Content-Transfer-Encoding"});
    CHECK(n.boundary == "4Q1abc2XyzF.1795428062/mx.example.com");
    CHECK(n.preamble == "This is a MIME-encapsulated message.\n");
    REQUIRE(n.parts.size() == 3);
    CHECK(n.parts[0].header ==
          std::vector<std::string>{"Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii"});
    CHECK(n.parts[1].header ==
          std::vector<std::string>{"Content-Description: Delivery report", "Content-Type: message/delivery-status"});
    CHECK(n.parts[2].header ==
          std::vector<std::string>{"Content-Description: Undelivered Message", "Content-Type: message/rfc822"});
    CHECK(n.parts[2].content == kOriginal);
}

TEST_CASE("delivery-status fields: per message, then per recipient after an empty line", "[bounce]") {
    auto in = failure_input();
    NoticeRecipient carol;
    carol.address = "carol@example.net";
    carol.action = "failed";
    carol.status = "5.2.2";
    carol.diagnostic = "mailbox full";  // our own text: no smtp, no remote MTA, no original
    in.recipients.push_back(carol);
    auto n = parse(build_notice(in));
    REQUIRE(n.parts.size() == 3);
    CHECK(n.parts[1].content ==
          "Reporting-MTA: dns; mx.example.com\n"
          "X-Kurir-Queue-ID: 4Q1abc2XyzF\n"
          "Arrival-Date: Mon, 23 Nov 2026 06:00:00 +0000 (UTC)\n"
          "\n"
          "Final-Recipient: rfc822; bob@example.org\n"
          "Original-Recipient: rfc822; bob@example.org\n"
          "Action: failed\n"
          "Status: 5.1.1\n"
          "Remote-MTA: dns; mx.example.org\n"
          "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: user unknown\n"
          "\n"
          "Final-Recipient: rfc822; carol@example.net\n"
          "Action: failed\n"
          "Status: 5.2.2\n"
          "Diagnostic-Code: X-Kurir; mailbox full\n");
    CHECK(has_line(n.parts[0].content, "<carol@example.net>: mailbox full"));
}

TEST_CASE("Original-Envelope-Id only with an envid; Arrival-Date only with a time", "[bounce]") {
    auto in = failure_input();
    auto n = parse(build_notice(in));
    CHECK(n.parts[1].content.find("Original-Envelope-Id") == std::string::npos);

    in.envid = "QQ314159";
    n = parse(build_notice(in));
    CHECK(has_line(n.parts[1].content, "Original-Envelope-Id: QQ314159"));
    auto lines = split_lines(n.parts[1].content);
    CHECK(lines[1] == "X-Kurir-Queue-ID: 4Q1abc2XyzF");
    CHECK(lines[2] == "Original-Envelope-Id: QQ314159");

    in.arrival_time = 0;
    n = parse(build_notice(in));
    CHECK(n.parts[1].content.find("Arrival-Date") == std::string::npos);
}

TEST_CASE("a delay warning says so and carries Will-Retry-Until", "[bounce]") {
    auto in = failure_input();
    in.kind = NoticeKind::delay;
    in.will_retry_until = kUntil;
    in.recipients[0].action = "delayed";
    in.recipients[0].status = "4.4.1";
    in.recipients[0].diagnostic = "connect to mx.example.org: Connection timed out";
    in.recipients[0].diagnostic_is_smtp = false;
    auto n = parse(build_notice(in));
    CHECK(header_value(n.header, "Subject") == "Delayed Mail (still being retried)");
    REQUIRE(n.parts.size() == 3);
    const auto& text = n.parts[0].content;
    CHECK(has_line(text, "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #"));
    CHECK(has_line(text, "Your message could not be delivered for more than 4 hour(s)."));
    CHECK(has_line(text, "It will be retried until Sat, 28 Nov 2026 06:00:00 +0000 (UTC)."));
    CHECK(text.find("I'm sorry") == std::string::npos);
    const auto& dsn = n.parts[1].content;
    CHECK(has_line(dsn, "Action: delayed"));
    CHECK(has_line(dsn, "Status: 4.4.1"));
    CHECK(has_line(dsn, "Diagnostic-Code: X-Kurir; connect to mx.example.org: Connection timed out"));
    CHECK(has_line(dsn, "Will-Retry-Until: Sat, 28 Nov 2026 06:00:00 +0000 (UTC)"));
    CHECK(split_lines(dsn).back() == "Will-Retry-Until: Sat, 28 Nov 2026 06:00:00 +0000 (UTC)");
    CHECK(n.parts[2].header[0] == "Content-Description: Undelivered Message");

    in.now = kArrival + 1800;
    CHECK(has_line(parse(build_notice(in)).parts[0].content,
                   "Your message could not be delivered for more than 30 minute(s)."));

    in.will_retry_until = 0;
    n = parse(build_notice(in));
    CHECK(n.parts[1].content.find("Will-Retry-Until") == std::string::npos);
    CHECK(n.parts[0].content.find("retried until") == std::string::npos);

    // Will-Retry-Until belongs to delay notices only.
    CHECK(build_notice(failure_input()).find("Will-Retry-Until") == std::string::npos);
}

TEST_CASE("a success notice", "[bounce]") {
    auto in = failure_input();
    in.kind = NoticeKind::success;
    in.recipients[0].action = "delivered";
    in.recipients[0].status = "2.0.0";
    in.recipients[0].diagnostic = "delivered to mailbox";
    in.recipients[0].diagnostic_is_smtp = false;
    in.recipients[0].remote_mta = "";
    in.headers_only = true;
    auto n = parse(build_notice(in));
    CHECK(header_value(n.header, "Subject") == "Successful Mail Delivery Report");
    REQUIRE(n.parts.size() == 3);
    CHECK(has_line(n.parts[0].content, "<bob@example.org>: delivered to mailbox"));
    CHECK(has_line(n.parts[1].content, "Action: delivered"));
    CHECK(has_line(n.parts[1].content, "Status: 2.0.0"));
    CHECK(n.parts[1].content.find("Remote-MTA") == std::string::npos);
    CHECK(n.parts[2].header ==
          std::vector<std::string>{"Content-Description: Message Headers", "Content-Type: text/rfc822-headers"});
}

TEST_CASE("headers_only and size_limit return the header block as text/rfc822-headers", "[bounce]") {
    const std::string headers =
        "Return-Path: <alice@example.com>\n"
        "From: Alice <alice@example.com>\n"
        "To: bob@example.org\n"
        "Subject: lunch\n";
    auto check_headers_part = [&](const NoticeInput& in) {
        auto n = parse(build_notice(in));
        REQUIRE(n.parts.size() == 3);
        CHECK(n.parts[2].header == std::vector<std::string>{"Content-Description: Undelivered Message Headers",
                                                            "Content-Type: text/rfc822-headers"});
        CHECK(n.parts[2].content == headers);
        CHECK(has_line(n.parts[0].content, "be delivered to one or more recipients. Its headers are attached below."));
    };
    SECTION("RET=HDRS") {
        auto in = failure_input();
        in.headers_only = true;
        check_headers_part(in);
    }
    SECTION("an original over the limit") {
        auto in = failure_input();
        in.size_limit = kOriginal.size() - 1;
        check_headers_part(in);
    }
    SECTION("an original exactly at the limit is returned whole") {
        auto in = failure_input();
        in.size_limit = kOriginal.size();
        auto n = parse(build_notice(in));
        REQUIRE(n.parts.size() == 3);
        CHECK(n.parts[2].header[1] == "Content-Type: message/rfc822");
        CHECK(n.parts[2].content == kOriginal);
    }
    SECTION("a header block over the limit is cut after a whole line") {
        auto in = failure_input();
        in.headers_only = true;
        in.size_limit = 40;  // "Return-Path: <alice@example.com>\n" is 33 bytes, the next line ends at 65
        auto n = parse(build_notice(in));
        REQUIRE(n.parts.size() == 3);
        CHECK(n.parts[2].content == "Return-Path: <alice@example.com>\n");
    }
    SECTION("folded headers belong to the block; a non-header line ends it") {
        auto in = failure_input();
        in.headers_only = true;
        in.original = "Subject: a\n\tb\nX-Y: z\nthis is the body, no empty line\nZ: not a header\n";
        auto n = parse(build_notice(in));
        REQUIRE(n.parts.size() == 3);
        CHECK(n.parts[2].content == "Subject: a\n\tb\nX-Y: z\n");
    }
}

TEST_CASE("8-bit bytes in the included original make the notice 8bit", "[bounce]") {
    auto in = failure_input();
    std::string original = "Subject: caf\xc3\xa9\n\nna\xc3\xafve body\n";
    in.original = original;
    auto n = parse(build_notice(in));
    CHECK(header_value(n.header, "Content-Transfer-Encoding") == "8bit");
    REQUIRE(n.parts.size() == 3);
    CHECK(has_line(n.parts[2].header, "Content-Transfer-Encoding: 8bit"));
    CHECK(n.parts[2].content == original);

    // 8-bit only in the body, which is not returned: 7bit.
    original = "Subject: plain\n\nna\xc3\xafve body\n";
    in.original = original;
    in.headers_only = true;
    n = parse(build_notice(in));
    CHECK(header_value(n.header, "Content-Transfer-Encoding") == "7bit");
    CHECK(!has_line(n.parts[2].header, "Content-Transfer-Encoding: 8bit"));

    // 8-bit in our own fields is masked and does not count.
    in = failure_input();
    in.recipients[0].diagnostic = "550 caf\xc3\xa9 unknown";
    in.recipients[0].address = "j\xc3\xb6rg@example.org";
    auto out = build_notice(in);
    n = parse(out);
    CHECK(header_value(n.header, "Content-Transfer-Encoding") == "7bit");
    CHECK(has_line(n.parts[1].content, "Diagnostic-Code: smtp; 550 caf?? unknown"));
    CHECK(has_line(n.parts[1].content, "Final-Recipient: rfc822; j??rg@example.org"));
    CHECK(std::none_of(out.begin(), out.end(), [](char c) { return (c & 0x80) != 0; }));
}

TEST_CASE("CR, LF, NUL and control characters never make a line of their own", "[bounce]") {
    const std::string evil = std::string("x\r\nBcc: victim@example.net\r\n\r\n--") + '\0' + "\x1b[2J\x7f\tend\n";
    auto in = failure_input();
    in.from = "MAILER-DAEMON@mx.example.com\r\nBcc: victim@example.net";
    in.to = "alice@example.com\nBcc: victim@example.net";
    in.message_id = "<a@b>\r\nBcc: victim@example.net";
    in.queue_id = "4Q1\nBcc: victim@example.net";
    in.reporting_mta = "mx.example.com\nBcc: victim@example.net";
    in.envid = "ENV\r\nBcc: victim@example.net";
    in.boundary = "tok\"\r\nBcc: victim@example.net";
    in.recipients[0].address = "bob@example.org\r\nBcc: victim@example.net";
    in.recipients[0].original = "orig" + evil;
    in.recipients[0].remote_mta = "mx" + evil;
    in.recipients[0].diagnostic = "550 no" + evil;
    in.recipients[0].action = "failed\nBcc: victim@example.net";
    in.recipients[0].status = "5.1.1\nBcc: victim@example.net";
    auto out = build_notice(in);
    auto n = parse(out);  // also: no CR or NUL anywhere
    for (const auto& line : split_lines(out)) {
        INFO("line: " << line);
        CHECK(!starts_with(line, "Bcc:"));
        CHECK(line.find('\x1b') == std::string::npos);
        CHECK(line.find('\x7f') == std::string::npos);
        CHECK(line.find('\t') == (starts_with(line, "\tboundary=") ? 0 : std::string::npos));
        CHECK(line.size() <= 998);
    }
    CHECK(header_value(n.header, "To") == "alice@example.com?Bcc: victim@example.net");
    CHECK(header_value(n.header, "From") == "MAILER-DAEMON@mx.example.com??Bcc: victim@example.net");
    CHECK(n.boundary.find_first_of("\"\r\n ") == std::string::npos);
    REQUIRE(n.parts.size() == 3);
    // Every delivery-status line is a field, a 4-blank fold, or the empty line between groups.
    for (const auto& line : split_lines(n.parts[1].content)) {
        INFO("dsn line: " << line);
        bool field = false;
        for (std::string_view name : {"Reporting-MTA: ", "X-Kurir-Queue-ID: ", "Original-Envelope-Id: ",
                                      "Arrival-Date: ", "Final-Recipient: ", "Original-Recipient: ", "Action: ",
                                      "Status: ", "Remote-MTA: ", "Diagnostic-Code: "})
            field = field || starts_with(line, name);
        CHECK((field || line.empty() || starts_with(line, "    ")));
    }
    CHECK(has_line(n.parts[1].content, "Original-Envelope-Id: ENV??Bcc: victim@example.net"));
    CHECK(has_line(n.parts[1].content, "Final-Recipient: rfc822; bob@example.org??Bcc: victim@example.net"));
    CHECK(has_line(n.parts[1].content, "Action: failed"));  // an invalid action gets the default
    CHECK(has_line(n.parts[1].content, "Status: 5.0.0"));   // as does an invalid status
    // The one empty line in the delivery status separates the per-message and recipient groups.
    auto dsn = split_lines(n.parts[1].content);
    CHECK(std::count(dsn.begin(), dsn.end(), "") == 1);
}

TEST_CASE("Action and Status are checked and defaulted by kind", "[bounce]") {
    struct Case {
        NoticeKind kind;
        std::string action, status, want_action, want_status;
    };
    std::vector<Case> cases = {
        {NoticeKind::failure, "", "", "failed", "5.0.0"},
        {NoticeKind::delay, "", "", "delayed", "4.0.0"},
        {NoticeKind::success, "", "", "delivered", "2.0.0"},
        {NoticeKind::success, "relayed", "2.1.5", "relayed", "2.1.5"},
        {NoticeKind::success, "expanded", "2.0.0", "expanded", "2.0.0"},
        {NoticeKind::failure, "FAILED", "5.1.10", "failed", "5.1.10"},
        {NoticeKind::failure, "failed", "5.123.456", "failed", "5.123.456"},
        {NoticeKind::failure, "failed", "5.1234.1", "failed", "5.0.0"},
        {NoticeKind::failure, "failed", "3.1.1", "failed", "5.0.0"},
        {NoticeKind::failure, "failed", "5.1", "failed", "5.0.0"},
        {NoticeKind::failure, "failed", "5.1.", "failed", "5.0.0"},
        {NoticeKind::failure, "failed", "5..1", "failed", "5.0.0"},
        {NoticeKind::failure, "failed", "5.1.1.1", "failed", "5.0.0"},
        {NoticeKind::failure, "failed", "5.1.1 ", "failed", "5.0.0"},
        {NoticeKind::delay, "delayed", "4.4.1x", "delayed", "4.0.0"},
    };
    for (const auto& c : cases) {
        INFO("action " << c.action << " status " << c.status);
        auto in = failure_input();
        in.kind = c.kind;
        in.recipients[0].action = c.action;
        in.recipients[0].status = c.status;
        auto n = parse(build_notice(in));
        REQUIRE(n.parts.size() == 3);
        CHECK(has_line(n.parts[1].content, "Action: " + c.want_action));
        CHECK(has_line(n.parts[1].content, "Status: " + c.want_status));
    }
    // No diagnostic: no Diagnostic-Code, and the text says what happened.
    auto in = failure_input();
    in.recipients[0].diagnostic = "";
    auto n = parse(build_notice(in));
    CHECK(n.parts[1].content.find("Diagnostic-Code") == std::string::npos);
    CHECK(has_line(n.parts[0].content, "<bob@example.org>: failed (status 5.1.1)"));
}

TEST_CASE("long diagnostics are wrapped at 79 columns and cut at kMaxNoticeText", "[bounce]") {
    auto in = failure_input();
    std::string words;
    for (int i = 0; i < 40; ++i) words += " word" + std::to_string(i);
    in.recipients[0].diagnostic = "550 5.7.1" + words;
    auto n = parse(build_notice(in));
    std::string unfolded;
    for (const auto& line : split_lines(n.parts[1].content)) {
        CHECK(line.size() <= 79);
        if (starts_with(line, "Diagnostic-Code: "))
            unfolded = line;
        else if (!unfolded.empty() && starts_with(line, "    "))
            unfolded += " " + line.substr(4);
        else if (!unfolded.empty())
            break;
    }
    CHECK(unfolded == "Diagnostic-Code: smtp; 550 5.7.1" + words);
    for (const auto& line : split_lines(n.parts[0].content)) CHECK(line.size() <= 79);

    // Unbreakable and huge: one long word survives whole, cut at the cap.
    in.recipients[0].diagnostic = std::string(100000, 'x');
    in.recipients[0].address = std::string(5000, 'a') + "@example.org";
    auto out = build_notice(in);
    n = parse(out);
    for (const auto& line : split_lines(out)) CHECK(line.size() <= 998);
    CHECK(has_line(n.parts[1].content, "    " + std::string(kMaxNoticeText, 'x')));
    CHECK(has_line(n.parts[1].content, "Final-Recipient: rfc822; " + std::string(kMaxNoticeText, 'a')));
}

TEST_CASE("the boundary never occurs in the body", "[bounce]") {
    auto in = failure_input();
    const std::string plain = "4Q1abc2XyzF.1795428062/mx.example.com";

    SECTION("a delimiter line in the original") {
        std::string original = "Subject: x\n\n--" + plain + "\nContent-Type: text/html\n\n<b>hi</b>\n--" + plain +
                               "--\n";
        in.original = original;
        auto out = build_notice(in);
        auto n = parse(out);  // strict: every line with the boundary is one of ours
        CHECK(n.boundary == plain + ".0");
        REQUIRE(n.parts.size() == 3);
        CHECK(n.parts[2].content == original);
        CHECK(original.find(n.boundary) == std::string::npos);
    }
    SECTION("the lengthened boundaries too") {
        std::string original = "Subject: x\n\n";
        for (char c : std::string("0123456789abcdefghijklmnopqrstuvwxyz")) original += plain + "." + c + "\n";
        in.original = original;
        auto n = parse(build_notice(in));
        CHECK(n.boundary == plain + ".00");  // 36 occurrences need two digits
        CHECK(original.find(n.boundary) == std::string::npos);
        CHECK(n.parts[2].content == original);
    }
    SECTION("the boundary in a diagnostic or address from the network") {
        in.recipients[0].diagnostic = "550 --" + plain;
        in.recipients[0].address = plain + "@evil.example";
        auto n = parse(build_notice(in));
        CHECK(n.boundary == plain + ".0");
        CHECK(has_line(n.parts[1].content, "Final-Recipient: rfc822; " + plain + "@evil.example"));
    }
    SECTION("a boundary token that is not boundary characters") {
        in.boundary = std::string(200, '"') + " x";
        in.reporting_mta = "";
        auto n = parse(build_notice(in));
        CHECK(n.boundary == std::string(60, '_'));
    }
    SECTION("no token and no host") {
        in.boundary = "";
        in.reporting_mta = "";
        CHECK(parse(build_notice(in)).boundary == "kurir-notice");
    }
}

TEST_CASE("odd originals: empty, all header, no final newline, very long lines", "[bounce]") {
    auto in = failure_input();
    const std::string plain_boundary = "4Q1abc2XyzF.1795428062/mx.example.com";

    SECTION("empty: no third part") {
        in.original = "";
        auto out = build_notice(in);
        auto n = parse(out);
        CHECK(n.parts.size() == 2);
        CHECK(has_line(n.parts[0].content, "be delivered to one or more recipients."));
        CHECK(header_value(n.header, "Content-Transfer-Encoding") == "7bit");
        CHECK(out.find("Undelivered Message") == std::string::npos);
    }
    SECTION("only a body, headers requested: no third part") {
        in.original = "\nbody only\n";
        in.headers_only = true;
        CHECK(parse(build_notice(in)).parts.size() == 2);
    }
    SECTION("all header, no empty line, no final newline") {
        in.original = "Subject: x\nFrom: y";
        auto n = parse(build_notice(in));
        REQUIRE(n.parts.size() == 3);
        CHECK(n.parts[2].content == "Subject: x\nFrom: y\n");
        in.headers_only = true;
        n = parse(build_notice(in));
        REQUIRE(n.parts.size() == 3);
        CHECK(n.parts[2].content == "Subject: x\nFrom: y\n");
    }
    SECTION("a very long line is copied whole") {
        std::string original = "Subject: x\n\n" + std::string(40000, 'y') + "\n";
        in.original = original;
        auto n = parse(build_notice(in));
        REQUIRE(n.parts.size() == 3);
        CHECK(n.parts[2].content == original);
        in.size_limit = 100;
        n = parse(build_notice(in));
        CHECK(n.parts[2].content == "Subject: x\n");
    }
    SECTION("a huge header line over the limit leaves nothing to include") {
        std::string original = "Subject: " + std::string(1000, 'z') + "\n\nbody\n";
        in.original = original;
        in.size_limit = 100;
        CHECK(parse(build_notice(in)).parts.size() == 2);
    }
    SECTION("NUL and CR in the original are copied, not interpreted") {
        std::string original = std::string("Subject: x\r\n\r\nbin") + '\0' + "ary\r\n";
        in.original = original;
        auto out = build_notice(in);
        CHECK(out.find(original) != std::string::npos);
        CHECK(out.ends_with("ary\r\n\n--" + plain_boundary + "--\n"));
    }
    SECTION("no recipients") {
        in.recipients.clear();
        auto n = parse(build_notice(in));
        REQUIRE(n.parts.size() == 3);
        CHECK(split_lines(n.parts[1].content).size() == 3);
    }
}
