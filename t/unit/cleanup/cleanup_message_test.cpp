#include "cleanup/cleanup_message.hpp"

#include "cleanup_stream.hpp"
#include "mail/queue_file.hpp"
#include "mail/record.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

using namespace kurir;
using namespace kurir::mail;
using namespace kurir::test::cleanup_stream;
using cleanup::build_queue_file;
using cleanup::CleanupInput;


TEST_CASE("build_queue_file: an SMTP message", "[cleanup]") {
    Config cfg = config();
    Stream st;
    Built b = must_build(cfg, st);

    CHECK(b.env.sender == "sender@example.org");
    CHECK(b.env.arrival_sec == kNow);
    CHECK(b.env.arrival_usec == 5);
    CHECK(b.env.attr("origin") == "smtp");
    CHECK(b.env.attr("client_addr") == "192.0.2.1");
    CHECK(b.env.attr("helo") == "helo.example");
    REQUIRE(b.env.recipients.size() == 1);
    CHECK(b.env.recipients[0].address == "rcpt@mx.example");
    CHECK(!b.env.recipients[0].done);

    std::string date = cleanup::rfc2822_date(kNow);
    Lines want = {
        "Received: from helo.example (client.example [192.0.2.1])",
        std::string("\tby mx.example (kurir) with ESMTP id ") + kQueueId,
        "\tfor <rcpt@mx.example>; " + date,
        "Subject: hi",
        "From: Someone <someone@example.org>",
        std::string("Message-ID: <20231114221320.") + kQueueId + "@mx.example>",
        "Date: " + date,
        "",
        "body",
    };
    CHECK(b.content == want);
    CHECK(b.out.message_id == std::string("<20231114221320.") + kQueueId + "@mx.example>");
    CHECK(b.out.sender == "sender@example.org");
    CHECK(b.out.recipients == 1);
    CHECK(b.out.size == b.env.content_size);
    CHECK(b.out.size == content_bytes(b.content));
    // The file is complete: it ends with X then E.
    CHECK(b.out.file.substr(b.out.file.size() - 4) == std::string("X\0E\0", 4));
}

TEST_CASE("build_queue_file: Received names helo or client (an IPv6 one as IPv6:addr), and the protocol", "[cleanup]") {
    Config cfg = config();
    Stream st;
    st.attrs = {{"origin", "smtp"}, {"client_name", "unknown"}, {"client_addr", "2001:db8::1"}};
    st.rcpts = {{"", "a@mx.example"}, {"", "b@mx.example"}};
    Built b = must_build(cfg, st);
    REQUIRE(b.content.size() >= 2);
    // An IPv6 client as Postfix writes it (RFC 5321 address literal).
    CHECK(b.content[0] == "Received: from unknown (unknown [IPv6:2001:db8::1])");
    CHECK(b.content[1] == std::string("\tby mx.example (kurir) with ESMTP id ") + kQueueId + "; " +
                              cleanup::rfc2822_date(kNow));  // no "for" with two recipients
    st.attrs.emplace_back("protocol", "SMTP");
    Built s = must_build(cfg, st);
    CHECK_THAT(s.content[1], Catch::Contains("with SMTP id"));
}

TEST_CASE("build_queue_file: Received says what TLS smtpd used (smtpd_tls_received_header)", "[cleanup]") {
    Config cfg = config();
    Stream st;
    st.attrs = {{"origin", "smtp"}, {"client_name", "unknown"}, {"client_addr", "192.0.2.1"}, {"helo", "h.example"},
                {"protocol", "ESMTPS"},
                {"tls_received", "using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"}};
    Built b = must_build(cfg, st);
    REQUIRE(b.content.size() >= 3);
    CHECK(b.content[0] == "Received: from h.example (unknown [192.0.2.1])");
    CHECK(b.content[1] == "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))");
    CHECK(b.content[2] == std::string("\tby mx.example (kurir) with ESMTPS id ") + kQueueId);
}

TEST_CASE("build_queue_file: the SASL user reaches the queue file, and Received only when asked", "[cleanup]") {
    Stream st;
    st.attrs = {{"origin", "smtp"},        {"client_name", "client.example"}, {"client_addr", "192.0.2.1"},
                {"helo", "helo.example"},  {"protocol", "ESMTPA"},            {"sasl_method", "PLAIN"},
                {"sasl_username", "alice"}};
    Built b = must_build(config(), st);
    CHECK(b.env.attr("sasl_method") == "PLAIN");
    CHECK(b.env.attr("sasl_username") == "alice");
    REQUIRE(b.content.size() >= 2);
    CHECK(b.content[0] == "Received: from helo.example (client.example [192.0.2.1])");
    CHECK(b.content[1] == std::string("\tby mx.example (kurir) with ESMTPA id ") + kQueueId);
    // smtpd_sasl_authenticated_header = yes, as smtpd passes it on.
    Stream asked = st;
    asked.attrs.push_back({"sasl_received_header", "yes"});
    Built h = must_build(config(), asked);
    REQUIRE(h.content.size() >= 3);
    CHECK(h.content[0] == "Received: from helo.example (client.example [192.0.2.1])");
    CHECK(h.content[1] == "\t(Authenticated sender: alice)");
    CHECK(h.env.attr("sasl_received_header").empty());  // said for Received: only, not kept
    CHECK(h.content[2] == std::string("\tby mx.example (kurir) with ESMTPA id ") + kQueueId);
    // Not authenticated: no such line, whatever the setting.
    Stream anonymous;
    anonymous.attrs.push_back({"sasl_received_header", "yes"});
    Built n = must_build(config(), anonymous);
    CHECK(n.content[1] == std::string("\tby mx.example (kurir) with ESMTP id ") + kQueueId);
}

TEST_CASE("build_queue_file: Message-ID and Date are kept when present", "[cleanup]") {
    Config cfg = config();
    Stream st;
    st.lines = {"Message-Id: <abc@client.example>", "Date: Mon, 1 Jan 2024 00:00:00 +0000", "Subject: x", "",
                "body"};
    Built b = must_build(cfg, st);
    CHECK(b.out.message_id == "<abc@client.example>");
    CHECK(count_headers(b.content, "Message-ID:") == 1);
    CHECK(count_headers(b.content, "Date:") == 1);
    CHECK(std::find(b.content.begin(), b.content.end(), "Date: Mon, 1 Jan 2024 00:00:00 +0000") != b.content.end());
    CHECK(count_headers(b.content, "Received:") == 1);
    CHECK_THAT(b.content[0], Catch::StartsWith("Received: "));
    CHECK(b.out.size == content_bytes(b.content));
}

TEST_CASE("build_queue_file: From is added only for local submissions", "[cleanup]") {
    Config cfg = config();
    Stream smtp;
    smtp.lines = {"Subject: x", "body"};
    Built s = must_build(cfg, smtp);
    CHECK(count_headers(s.content, "From:") == 0);

    Stream local;
    local.attrs = {{"origin", "local"}, {"uid", "1000"}};
    local.sender = "alice@mx.example";
    local.lines = {"Subject: x", "body"};
    Built l = must_build(cfg, local);
    CHECK(count_headers(l.content, "From:") == 1);
    CHECK(std::find(l.content.begin(), l.content.end(), "From: alice@mx.example") != l.content.end());
    CHECK(l.content[0] == "Received: by mx.example (kurir, from userid 1000)");
    CHECK(l.content[1] == std::string("\tid ") + kQueueId + "; " + cleanup::rfc2822_date(kNow));
    CHECK(l.out.size == content_bytes(l.content));

    local.lines = {"From: Alice <alice@mx.example>", "body"};
    Built kept = must_build(cfg, local);
    CHECK(count_headers(kept.content, "From:") == 1);
    CHECK(std::find(kept.content.begin(), kept.content.end(), "From: Alice <alice@mx.example>") !=
          kept.content.end());
}

TEST_CASE("build_queue_file: recipients are canonicalised and deduplicated", "[cleanup]") {
    Config cfg = config();
    auto canon = [](std::string_view a) -> util::Result<std::string> {
        std::string s(a);
        if (!s.empty() && s.find('@') == std::string::npos) s += "@mx.example";
        for (char& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
        return s;
    };
    Stream st;
    st.sender = "Alice";
    st.rcpts = {{"", "bob"}, {"", "Bob@MX.example"}, {"", "carol@mx.example"}, {"Orig@x", "bob@mx.example"},
                {"", "carol@mx.example"}, {"Dave+x@y", "dave@y"}};
    Built b = must_build(cfg, st, canon);
    CHECK(b.env.sender == "alice@mx.example");
    CHECK(b.out.sender == "alice@mx.example");
    REQUIRE(b.env.recipients.size() == 3);
    CHECK(b.out.recipients == 3);
    CHECK(b.env.recipients[0].address == "bob@mx.example");
    CHECK(b.env.recipients[0].original == "bob");  // what the client sent
    CHECK(b.env.recipients[1].address == "carol@mx.example");
    CHECK(b.env.recipients[1].original == "");
    CHECK(b.env.recipients[2].address == "dave@y");
    CHECK(b.env.recipients[2].original == "Dave+x@y");

    // The null sender stays null through an identity canonicaliser.
    Stream bounce;
    bounce.sender = "";
    Built n = must_build(cfg, bounce);
    CHECK(n.env.sender.empty());

    auto failing = [](std::string_view) -> util::Result<std::string> { return util::fail("rewrite: timeout"); };
    auto r = must_refuse(cfg, st, failing);
    CHECK(r.status == '4');
    CHECK(r.dsn == "4.3.0");
    CHECK_THAT(r.text, Catch::Contains("rewrite: timeout"));
}

TEST_CASE("build_queue_file: message_size_limit", "[cleanup]") {
    Stream st;
    st.lines = {"Subject: x", "", std::string(87, 'b')};  // 11 + 1 + 88 = 100 bytes
    Config at = config("message_size_limit = 100\n");
    Built ok = must_build(at, st);
    CHECK(ok.content.back() == std::string(87, 'b'));

    Config below = config("message_size_limit = 99\n");
    auto r = must_refuse(below, st);
    CHECK(r.status == '5');
    CHECK(r.dsn == "5.3.4");

    // Counted over L pieces too.
    Stream big;
    big.lines = {"Subject: x", "", std::string(50000, 'z')};
    big.max_piece = 1000;
    auto rb = must_refuse(config("message_size_limit = 40000\n"), big);
    CHECK(rb.status == '5');
    CHECK(rb.dsn == "5.3.4");
    // 0: no limit.
    Built none = must_build(config("message_size_limit = 0\n"), big);
    CHECK(none.content.back().size() == 50000);
}

TEST_CASE("build_queue_file: too many Received headers", "[cleanup]") {
    Config cfg = config("hopcount_limit = 3\n");
    Stream st;
    st.lines = {"Received: from a", "received: from b", "Subject: x", "", "Received: in the body"};
    Built ok = must_build(cfg, st);
    CHECK(count_headers(ok.content, "Received:") == 3);
    st.lines = {"Received: from a", "Received: from b", "RECEIVED: from c", "", "body"};
    auto r = must_refuse(cfg, st);
    CHECK(r.status == '5');
    CHECK(r.dsn == "5.4.6");
}

TEST_CASE("build_queue_file: a body without headers gets a blank line before it", "[cleanup]") {
    Config cfg = config();
    struct Case {
        const char* what;
        Lines lines;
        Lines body;  // what follows the blank line after the headers
    };
    std::vector<Case> cases = {
        {"plain text", {"Hello world", "second: line"}, {"Hello world", "second: line"}},
        {"a continuation line first", {" indented", "x"}, {" indented", "x"}},
        {"headers then a non-header line", {"Subject: x", "not a header"}, {"not a header"}},
        {"an empty body", {}, {}},
        {"a blank line first", {"", "Subject: looks like a header"}, {"Subject: looks like a header"}},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            Stream st;
            st.lines = c.lines;
            Built b = must_build(cfg, st);
            auto blank = std::find(b.content.begin(), b.content.end(), std::string());
            if (c.body.empty() && c.lines.empty()) {
                // Headers only.
                CHECK(count_headers(b.content, "Message-ID:") == 1);
                continue;
            }
            REQUIRE(blank != b.content.end());
            // Everything before the blank line is a header or its continuation.
            CHECK(count_headers(b.content, "Received:") == 1);
            CHECK(count_headers(b.content, "Message-ID:") == 1);
            CHECK(count_headers(b.content, "Date:") == 1);
            CHECK(Lines(blank + 1, b.content.end()) == c.body);
        }
    }
}

TEST_CASE("build_queue_file: long lines split into L pieces survive intact", "[cleanup]") {
    Config cfg = config();
    Stream st;
    std::string long_header = "X-Long: " + std::string(10000, 'h');
    std::string folded = "\t" + std::string(5000, 'f');
    std::string long_body = std::string(9000, 'b') + "end";
    st.lines = {"Subject: x", long_header, folded, long_body, "short"};
    for (size_t piece : {size_t(4096), size_t(100), size_t(1)}) {
        st.max_piece = piece;
        INFO("pieces of " << piece);
        Built b = must_build(cfg, st);
        CHECK(std::find(b.content.begin(), b.content.end(), long_header) != b.content.end());
        auto h = std::find(b.content.begin(), b.content.end(), long_header);
        REQUIRE(h + 1 != b.content.end());
        CHECK(*(h + 1) == folded);  // the folded line follows its header
        REQUIRE(b.content.size() >= 2);
        CHECK(b.content[b.content.size() - 2] == long_body);
        CHECK(b.content.back() == "short");
        CHECK(b.out.size == content_bytes(b.content));
    }
}

TEST_CASE("build_queue_file: streams that cannot be queued are refused", "[cleanup]") {
    Config cfg = config();
    {
        Stream st;
        st.sender.reset();
        auto r = must_refuse(cfg, st);
        CHECK(r.status == '4');
        CHECK_THAT(r.text, Catch::Contains("sender"));
    }
    {
        Stream st;
        st.rcpts.clear();
        auto r = must_refuse(cfg, st);
        CHECK(r.status == '5');
        CHECK(r.dsn == "5.5.1");
    }
    {
        Stream st;
        st.end = false;  // no X: the client went away
        auto r = must_refuse(cfg, st);
        CHECK(r.status == '4');
        CHECK(r.dsn == "4.3.0");
    }
    {
        Stream st;
        st.sender = "a@b";
        std::string bytes = st.bytes();
        std::string twice;
        rec_append(twice, rec::sender, "other@b");
        twice += bytes;
        auto r = build_queue_file(cfg, CleanupInput{kQueueId, kNow, 0, twice}, identity);
        REQUIRE(!r);
        CHECK(r.error().status == '4');
    }
    for (char bad : {'V', 'T', 'D', 'E', 'W', 'N'}) {
        INFO("record " << bad << " in the envelope");
        std::string s;
        rec_append(s, bad, "x");
        s += Stream().bytes();
        auto r = build_queue_file(cfg, CleanupInput{kQueueId, kNow, 0, s}, identity);
        REQUIRE(!r);
        CHECK(r.error().status == '4');
    }
    {
        // A record other than N, L, X in the content.
        std::string s = Stream().bytes();
        s.resize(s.size() - 2);  // drop X
        rec_append(s, rec::rcpt, "late@x");
        rec_append(s, rec::content_end, "");
        auto r = build_queue_file(cfg, CleanupInput{kQueueId, kNow, 0, s}, identity);
        REQUIRE(!r);
        CHECK(r.error().status == '4');
    }
    {
        std::string s = Stream().bytes();
        s[0] = 'a';  // garbled type byte
        auto r = build_queue_file(cfg, CleanupInput{kQueueId, kNow, 0, s}, identity);
        REQUIRE(!r);
        CHECK(r.error().dsn == "4.3.0");
    }
    for (size_t cut = 0; cut < Stream().bytes().size(); ++cut) {
        std::string s = Stream().bytes().substr(0, cut);
        auto r = build_queue_file(cfg, CleanupInput{kQueueId, kNow, 0, s}, identity);
        INFO("stream cut at " << cut);
        CHECK(!r);
    }
}

// The content of a stream may end inside a line (an L record then X).
// cleanup copies the L record into the queue file, which then ends its
// content inside a line: parse_queue_file rejects the file cleanup wrote.
TEST_CASE("build_queue_file: output always parses, even when the stream ends inside a line",
          "[cleanup]") {
    Config cfg = config();
    std::string s;
    rec_append(s, rec::sender, "a@b");
    rec_append(s, rec::rcpt, "c@d");
    rec_append(s, rec::message, "");
    rec_append(s, rec::line, "Subject: x");
    rec_append(s, rec::line, "");
    rec_append(s, rec::part, "unterminated body line");
    rec_append(s, rec::content_end, "");
    auto r = build_queue_file(cfg, CleanupInput{kQueueId, kNow, 0, s}, identity);
    if (r) {
        auto env = parse_queue_file(r->file);
        INFO((env ? std::string("parsed") : env.error().text));
        CHECK(env);
    }
}

// The size record is documented to count what the mailbox will hold, but the
// blank line cleanup inserts between the added headers and a header-less
// body is not counted.
TEST_CASE("build_queue_file: the size counts the inserted blank line", "[cleanup]") {
    Config cfg = config();
    Stream st;
    st.lines = {"no headers here", "second"};
    Built b = must_build(cfg, st);
    CHECK(b.out.size == content_bytes(b.content));
    CHECK(b.env.content_size == content_bytes(b.content));
}

TEST_CASE("rfc2822_date has the RFC 5322 shape", "[cleanup]") {
    std::string d = cleanup::rfc2822_date(kNow);
    // "Tue, 14 Nov 2023 22:13:20 +0000 (UTC)" in any time zone.
    CHECK(d.size() >= 31);
    CHECK(d[3] == ',');
    CHECK_THAT(d, Catch::Contains(" Nov 2023 "));
    CHECK_THAT(d, Catch::Matches("[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4} \\(.*\\)"));
}

TEST_CASE("build_queue_file: sendmail -t takes recipients from To, Cc and Bcc", "[cleanup]") {
    Config cfg = config();
    Stream st;
    st.attrs = {{"origin", "local"}, {"uid", "1000"}, {"extract", "1"}};
    st.sender = "alice@mx.example";
    st.rcpts = {{"", "carol@y"}};
    st.lines = {"To: Bob <bob@x>, carol@y", "Cc: \"Dave D.\" <dave@z>", "Bcc: secret@z", "Subject: t", "body"};
    Built b = must_build(cfg, st);
    std::vector<std::string> got;
    for (const auto& r : b.env.recipients) got.push_back(r.address);
    CHECK(got == std::vector<std::string>{"carol@y", "bob@x", "dave@z", "secret@z"});
    // A local submission's Bcc: is removed; To: and Cc: stay.
    CHECK(count_headers(b.content, "Bcc:") == 0);
    CHECK(count_headers(b.content, "To:") == 1);
    CHECK(count_headers(b.content, "Cc:") == 1);
    for (const auto& l : b.content) CHECK(l.find("secret@z") == std::string::npos);

    // Nothing to extract and no envelope recipient: refused.
    st.rcpts.clear();
    st.lines = {"Subject: t", "body"};
    auto r = must_refuse(cfg, st);
    CHECK(r.status == '5');
    CHECK(r.dsn == "5.5.1");
}

TEST_CASE("build_queue_file: Bcc of an SMTP message is kept, and not extracted", "[cleanup]") {
    Config cfg = config();
    Stream st;
    st.lines = {"To: a@b", "Bcc: hidden@c", "body"};
    Built b = must_build(cfg, st);
    CHECK(count_headers(b.content, "Bcc:") == 1);
    REQUIRE(b.env.recipients.size() == 1);
    CHECK(b.env.recipients[0].address == "rcpt@mx.example");
}

TEST_CASE("build_queue_file: From with the sender's full name", "[cleanup]") {
    Config cfg = config();
    Stream st;
    st.attrs = {{"origin", "local"}, {"uid", "1000"}, {"fullname", "Alice \"Al\" Smith\\"}};
    st.sender = "alice@mx.example";
    st.lines = {"Subject: t", "body"};
    Built b = must_build(cfg, st);
    CHECK(std::find(b.content.begin(), b.content.end(), "From: \"Alice Al Smith\" <alice@mx.example>") !=
          b.content.end());
}

TEST_CASE("build_queue_file: a requeued message gets no new headers", "[cleanup]") {
    Config cfg = config();
    Stream st;
    st.attrs = {{"origin", "local"}, {"uid", "0"}, {"requeue", "1"}};
    st.lines = {"Received: from earlier", "Subject: t", "", "body"};
    Built b = must_build(cfg, st);
    CHECK(b.content == Lines{"Received: from earlier", "Subject: t", "", "body"});
    CHECK(b.out.size == content_bytes(b.content));
}

// The size counts every client line, also the Bcc: lines that are then
// removed from a local submission.
TEST_CASE("build_queue_file: the size does not count removed Bcc headers", "[cleanup]") {
    Config cfg = config();
    Stream st;
    st.attrs = {{"origin", "local"}, {"uid", "1000"}};
    st.sender = "alice@mx.example";
    st.lines = {"To: bob@x", "Bcc: secret@z", "body"};
    Built b = must_build(cfg, st);
    CHECK(count_headers(b.content, "Bcc:") == 0);
    CHECK(b.out.size == content_bytes(b.content));
}

// An R record with an empty address is queued as is; parse_queue_file then
// rejects the file ("empty recipient").
TEST_CASE("build_queue_file: an empty recipient is refused, not queued", "[cleanup]") {
    Config cfg = config();
    Stream st;
    st.rcpts = {{"", ""}, {"", "ok@x"}};
    std::string bytes = st.bytes();
    auto r = build_queue_file(cfg, CleanupInput{kQueueId, kNow, 0, bytes}, identity);
    if (r) {
        auto env = parse_queue_file(r->file);
        INFO((env ? std::string("parsed") : env.error().text));
        CHECK(env);
    }
}

TEST_CASE("build_queue_file: a stray CR or LF in content becomes a space (cleanup_replace_stray_cr_lf)", "[cleanup]") {
    Stream st;
    st.lines = {"Subject: a\rb", "", "one\r.\rtwo", "\n.\n", std::string("nul\0kept", 8), "end\r"};
    st.max_piece = 3;  // the masking holds across pieces of a long line too
    auto b = must_build(config(), st);
    auto has = [&](const std::string& l) { return std::find(b.content.begin(), b.content.end(), l) != b.content.end(); };
    CHECK(has("Subject: a b"));
    CHECK(has("one . two"));
    CHECK(has(" . "));
    CHECK(has("nulkept"));  // kurir's default message_strip_characters strips NUL
    auto kept = must_build(config("message_strip_characters =\n"), st);  // Postfix's default keeps it
    CHECK(std::find(kept.content.begin(), kept.content.end(), std::string("nul\0kept", 8)) != kept.content.end());
    CHECK(has("end "));
    for (const auto& l : b.content) CHECK(l.find_first_of("\r\n") == std::string::npos);
}

// Found by review: a line that message_strip_characters changed, or one cut
// into pieces at line_length_limit, went into the queue file unmasked, and
// the smtp client sent its "<CR>.<CR>" on as an end of data (a second,
// forged message to the next hop).
TEST_CASE("build_queue_file: a stray CR or LF is masked in a line that was stripped or cut at line_length_limit",
          "[cleanup]") {
    Stream st;
    std::string long_line = std::string(3000, 'L') + "\r.\rMAIL FROM:<x@y>";
    st.lines = {"Subject: x", "", std::string("a\0\r.\rb", 6), long_line, std::string("c\0\n.\nd", 6)};
    auto b = must_build(config(), st);
    auto has = [&](const std::string& l) { return std::find(b.content.begin(), b.content.end(), l) != b.content.end(); };
    CHECK(has("a . b"));
    CHECK(has(std::string(3000, 'L') + " . MAIL FROM:<x@y>"));
    CHECK(has("c . d"));
    for (const auto& l : b.content) CHECK(l.find_first_of("\r\n") == std::string::npos);
}

TEST_CASE("build_queue_file: cleanup_replace_stray_cr_lf = no keeps content as it came", "[cleanup]") {
    Stream st;
    st.lines = {"Subject: x", "", "one\r.\rtwo"};
    auto b = must_build(config("cleanup_replace_stray_cr_lf = no\n"), st);
    CHECK(std::find(b.content.begin(), b.content.end(), "one\r.\rtwo") != b.content.end());
}

namespace {

// Feeds the stream in pieces of `step` bytes; the file the sink got, patched.
std::string build_in_pieces(const Config& cfg, const std::string& bytes, size_t step,
                            size_t* max_held = nullptr, size_t* written_before_end = nullptr) {
    std::string file;
    cleanup::MessageBuilder b(cfg, kQueueId, kNow, 5, identity, [&](std::string_view out) -> util::Result<void> {
        file.append(out);
        return {};
    });
    for (size_t i = 0; i < bytes.size() && !b.ended(); i += step) {
        auto fed = b.feed(std::string_view(bytes).substr(i, step));
        if (!fed) FAIL("refused: " << fed.error().text);
        if (max_held) *max_held = std::max(*max_held, b.held_bytes());
        if (written_before_end && !b.ended()) *written_before_end = file.size();
    }
    REQUIRE(b.ended());
    auto patch = b.size_patch();
    file.replace(patch.offset, patch.bytes.size(), patch.bytes);
    return file;
}

}  // namespace

TEST_CASE("MessageBuilder: the same queue file however the stream is split", "[cleanup]") {
    Stream st;
    st.lines = {"Subject: pieces", "X-Long: " + std::string(10000, 'h'), "", "body " + std::string(9000, 'b'), "end"};
    std::string bytes = st.bytes();
    auto whole = build_queue_file(config(), {kQueueId, kNow, 5, bytes}, identity);
    REQUIRE(whole);
    for (size_t step : {1, 2, 3, 7, 64, 4096, 65536})
        CHECK(build_in_pieces(config(), bytes, step) == whole->file);
}

TEST_CASE("MessageBuilder: a 5 MB body streams through, the builder holds a bounded amount", "[cleanup]") {
    Stream st;
    st.lines = {"Subject: big", ""};
    for (int i = 0; i < 70000; ++i) st.lines.push_back(std::string(75, 'x'));  // ~5.3 MB
    std::string bytes = st.bytes();
    size_t max_held = 0, written_before_end = 0;
    std::string file = build_in_pieces(config(), bytes, 65536, &max_held, &written_before_end);
    // One read (64 KB) plus one record plus the headers and the output not
    // yet flushed (64 KB): far below the message.
    CHECK(max_held < 256 * 1024);
    CHECK(written_before_end > bytes.size() - 256 * 1024);  // the file grew while the message arrived
    auto env = parse_queue_file(file);
    REQUIRE(env);
    Lines content;
    REQUIRE(for_each_content_line(file, *env, [&](std::string_view l) { content.emplace_back(l); }));
    CHECK(env->content_size == content_bytes(content));
    CHECK(content.back() == std::string(75, 'x'));
}

TEST_CASE("MessageBuilder: a header line longer than header_size_limit is cut there, never held whole", "[cleanup]") {
    Stream st;
    st.lines = {"Subject: x", "X-Huge: " + std::string(300000, 'h'), "after"};
    size_t max_held = 0;
    std::string file = build_in_pieces(config("header_size_limit = 102400\n"), st.bytes(), 4096, &max_held);
    CHECK(max_held < 200 * 1024);
    auto env = parse_queue_file(file);
    REQUIRE(env);
    Lines content;
    REQUIRE(for_each_content_line(file, *env, [&](std::string_view l) { content.emplace_back(l); }));
    auto blank = std::find(content.begin(), content.end(), "");
    REQUIRE(blank != content.end());
    CHECK(std::find(content.begin(), blank, "Subject: x") != blank);
    // Postfix's header_size_limit: the excess is discarded.
    CHECK(std::find(content.begin(), blank, "X-Huge: " + std::string(102400 - 8, 'h')) != blank);
    CHECK(content.back() == "after");
    CHECK(env->content_size == content_bytes(content));
}

// Found by review: a field cut at its last line break (past 90% of the
// limit) went on taking continuation lines, so what was kept was not what
// smtpd had judged the field to be (a forged Authentication-Results).
TEST_CASE("build_queue_file: once a header field is cut at header_size_limit, its continuation lines go too",
          "[cleanup]") {
    Stream st;
    st.lines = {"Subject: (" + std::string(950, 'a') + ")", "\tdropped " + std::string(200, 'b'), "\tmx.test; pass",
                "X-Next: kept", "", "body"};
    auto b = must_build(config("header_size_limit = 1000\n"), st);
    auto has = [&](const std::string& l) { return std::find(b.content.begin(), b.content.end(), l) != b.content.end(); };
    CHECK(has("Subject: (" + std::string(950, 'a') + ")"));
    CHECK_FALSE(has("\tmx.test; pass"));
    CHECK(has("X-Next: kept"));
    CHECK(b.out.size == content_bytes(b.content));
}

TEST_CASE("MessageBuilder: a message over message_size_limit is refused while it arrives", "[cleanup]") {
    Stream st;
    st.lines = {"Subject: big", ""};
    for (int i = 0; i < 2000; ++i) st.lines.push_back(std::string(99, 'x'));
    std::string bytes = st.bytes();
    Config cfg = config("message_size_limit = 50000\n");
    cleanup::MessageBuilder b(cfg, kQueueId, kNow, 5, identity, [](std::string_view) -> util::Result<void> { return {}; });
    std::optional<cleanup::Refusal> refused;
    size_t fed = 0;
    for (; fed < bytes.size() && !refused; fed += 4096)
        if (auto r = b.feed(std::string_view(bytes).substr(fed, 4096)); !r) refused = r.error();
    REQUIRE(refused);
    CHECK(refused->status == '5');
    CHECK(refused->dsn == "5.3.4");
    CHECK(fed < 60000);  // at the limit, not at the end
}

TEST_CASE("MessageBuilder: bytes after the end record are not taken, and said (the connection is not reused)",
          "[cleanup]") {
    std::string bytes = Stream{}.bytes();
    Config cfg = config();
    auto sink = [](std::string_view) -> util::Result<void> { return {}; };
    SECTION("none: a clean end") {
        cleanup::MessageBuilder b(cfg, kQueueId, kNow, 5, identity, sink);
        REQUIRE(b.feed(bytes));
        CHECK(b.ended());
        CHECK_FALSE(b.overrun());
    }
    SECTION("in the same piece as the end") {
        cleanup::MessageBuilder b(cfg, kQueueId, kNow, 5, identity, sink);
        REQUIRE(b.feed(bytes + "A"));
        CHECK(b.ended());
        CHECK(b.overrun());
    }
    SECTION("in a later piece") {
        cleanup::MessageBuilder b(cfg, kQueueId, kNow, 5, identity, sink);
        REQUIRE(b.feed(bytes));
        REQUIRE(b.feed("A"));
        CHECK(b.overrun());
    }
}

TEST_CASE("parse_strip_characters reads Postfix's escapes", "[cleanup]") {
    using mail::parse_strip_characters;
    CHECK(parse_strip_characters("") == "");
    CHECK(parse_strip_characters("\\0") == std::string(1, '\0'));
    CHECK(parse_strip_characters("\\r\\n\\t\\\\") == "\r\n\t\\");
    CHECK(parse_strip_characters("\\177\\1x") == std::string("\177\001x", 3));
    CHECK(parse_strip_characters("\\q") == "\\q");  // not an escape: both stay
    CHECK(parse_strip_characters("ab\\") == "ab\\");
}

TEST_CASE("build_queue_file: message_strip_characters removes them from content, and the size follows", "[cleanup]") {
    Stream st;
    st.lines = {std::string("Subject: a\0b", 12), "", std::string("nul\0gone\0", 9), "kept"};
    auto b = must_build(config("message_strip_characters = \\0\n"), st);
    auto has = [&](const std::string& l) { return std::find(b.content.begin(), b.content.end(), l) != b.content.end(); };
    CHECK(has("Subject: ab"));
    CHECK(has("nulgone"));
    CHECK(has("kept"));
    CHECK(b.out.size == content_bytes(b.content));
    CHECK(b.out.size == b.env.content_size);
    // Empty, as Postfix's default: a NUL passes.
    auto d = must_build(config("message_strip_characters =\n"), st);
    CHECK(std::find(d.content.begin(), d.content.end(), std::string("nul\0gone\0", 9)) != d.content.end());
}
