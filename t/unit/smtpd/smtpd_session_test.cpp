// smtpd's state machine below end-to-end: a Session on a real event loop
// talks to the test over a socket pair, and a stand-in cleanup (a thread
// on private/cleanup) takes the message and answers with mail_proto frames.
#include "smtpd/smtpd_session.hpp"

#include "smtpd_fixture.hpp"
#include "mail/mail_proto.hpp"
#include "mail/record.hpp"
#include "util/attr.hpp"
#include "util/db_map.hpp"
#include "util/socket.hpp"

#include <catch2/catch.hpp>
#include <event2/event.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

using namespace kurir;
namespace kt = kurir::test;

namespace {

// private/cleanup played by a thread: hello, the record stream up to its
// end, then the reply the test chose. What it read is kept.
class StandInCleanup {
public:
    StandInCleanup(const std::string& path, mail::proto::CleanupReply reply)
        : reply_(std::move(reply)), thread_(path, [this](int fd) { serve(fd); }) {}
    std::string stream() {
        std::lock_guard lock(mu_);
        return stream_;
    }

private:
    void serve(int conn) {
        if (!util::attr_write(conn, mail::proto::encode(mail::proto::CleanupHello{reply_.queue_id}))) return;
        std::string buf;
        bool ended = kt::read_cleanup_stream(conn, buf);
        {
            std::lock_guard lock(mu_);
            stream_ = buf;
        }
        if (ended) (void)util::attr_write(conn, mail::proto::encode(reply_));
    }
    mail::proto::CleanupReply reply_;
    std::mutex mu_;
    std::string stream_;
    kt::CleanupThread thread_;
};

// Each test's own session, from the first byte; mynetworks holds no
// loopback address, so the client is a stranger.
struct Fixture : kt::SmtpdFixture {
    explicit Fixture(const std::string& extra = "") : SmtpdFixture("mynetworks = 192.0.2.0/24\n" + extra) {
        start_session();
    }
};

}  // namespace

TEST_CASE("smtpd: greeting and EHLO with the extensions", "[smtpd_session]") {
    Fixture f;
    auto r = f.talk("", 1);
    REQUIRE(r.size() == 1);
    CHECK(r[0].starts_with("220 mx.test ESMTP"));
    r = f.talk("EHLO client.test\r\n", 1);
    REQUIRE(r.size() == 1);
    CHECK(r[0].starts_with("250-mx.test\n"));
    for (const char* ext : {"250-PIPELINING", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN",
                            "250 CHUNKING"})
        CHECK(r[0].find(ext) != std::string::npos);
}

// A reply the client waits for is on the socket when the command's turn
// ends, not left for a write event on a later turn of the loop; replies to
// pipelined commands still come in order.
TEST_CASE("smtpd: a reply the client waits for is written at once; pipelined ones in order", "[smtpd_session]") {
    Fixture f;
    char buf[512];
    ssize_t n = ::recv(f.client.get(), buf, sizeof buf, MSG_DONTWAIT);  // no loop has run since the session began
    REQUIRE(n > 0);
    CHECK(std::string(buf, static_cast<size_t>(n)).starts_with("220 mx.test ESMTP"));
    auto r = f.talk("EHLO client.test\r\nNOOP\r\nRSET\r\nNOOP\r\n", 4);
    REQUIRE(r.size() == 4);
    CHECK(r[0].starts_with("250-mx.test\n"));
    CHECK(r[1] == "250 2.0.0 Ok");
    CHECK(r[2] == "250 2.0.0 Ok");
    CHECK(r[3] == "250 2.0.0 Ok");
    // QUIT's 221 goes out at once too; the close comes after the command's
    // turn, never inside it (the code after the reply still uses the session).
    CHECK(f.one("NOOP") == "250 2.0.0 Ok");
    CHECK(f.one("QUIT") == "221 2.0.0 Bye");
    for (int i = 0; i < 100 && !f.closed; ++i) event_base_loop(f.ctx.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    CHECK(f.closed);
}

TEST_CASE("smtpd: commands out of order are refused and the session goes on", "[smtpd_session]") {
    Fixture f;
    f.talk("", 1);
    auto r = f.talk("RCPT TO:<a@mx.test>\r\nDATA\r\nMAIL FROM:<s@client.test>\r\nMAIL FROM:<s@client.test>\r\n"
                    "DATA\r\nBOGUS\r\nNOOP\r\n",
                    7);
    REQUIRE(r.size() == 7);
    CHECK(r[0] == "503 5.5.1 Error: need MAIL command");
    CHECK(r[1] == "503 5.5.1 Error: need RCPT command");
    CHECK(r[2] == "250 2.1.0 Ok");
    CHECK(r[3] == "503 5.5.1 Error: nested MAIL command");
    CHECK(r[4] == "554 5.5.1 Error: no valid recipients");
    CHECK(r[5] == "500 5.5.2 Error: command not recognized");
    CHECK(r[6] == "250 2.0.0 Ok");
}

TEST_CASE("smtpd: a NUL in a command and an over-long line are refused", "[smtpd_session]") {
    Fixture f;
    f.talk("", 1);
    auto r = f.talk(std::string("NO\0OP\r\n", 7) + "NOOP " + std::string(600, 'x') + "\r\nNOOP\r\n", 3);
    REQUIRE(r.size() == 3);
    CHECK(r[0] == "500 5.5.2 Error: NUL character in command");
    CHECK(r[1] == "500 5.5.0 Error: line too long");
    CHECK(r[2] == "250 2.0.0 Ok");
}

TEST_CASE("smtpd: a stranger may not relay, local recipients are taken", "[smtpd_session]") {
    // kurir's default smtpd_relay_restrictions end in reject_unauth_destination.
    Fixture f;
    f.talk("EHLO client.test\r\n", 2);
    auto r = f.talk("MAIL FROM:<s@client.test>\r\nRCPT TO:<victim@far.example>\r\nRCPT TO:<alice@mx.test>\r\n", 3);
    REQUIRE(r.size() == 3);
    CHECK(r[1] == "554 5.7.1 <victim@far.example>: Relay access denied");
    CHECK(r[2] == "250 2.1.5 Ok");
}

TEST_CASE("smtpd: smtpd_relay_restrictions and smtpd_sender_login_maps are applied at RCPT", "[smtpd_session]") {
    kt::TempDir maps;
    kt::spit(maps.path() + "/logins", "boss@mx.test alice\n");
    auto built = util::build_db(maps.path() + "/logins.db", util::DbType::hash, {{"boss@mx.test", "alice"}});
    REQUIRE(built);
    Fixture f("smtpd_relay_restrictions = permit_mynetworks, defer_unauth_destination\n"
              "smtpd_sender_restrictions = reject_sender_login_mismatch\n"
              "smtpd_sender_login_maps = hash:" + maps.path() + "/logins\n");
    f.talk("EHLO client.test\r\n", 2);
    auto r = f.talk("MAIL FROM:<s@client.test>\r\nRCPT TO:<victim@far.example>\r\nRSET\r\n"
                    "MAIL FROM:<boss@mx.test>\r\nRCPT TO:<alice@mx.test>\r\n", 5);
    REQUIRE(r.size() == 5);
    CHECK(r[1] == "454 4.7.1 <victim@far.example>: Relay access denied");
    CHECK(r[4] == "553 5.7.1 <boss@mx.test>: Sender address rejected: not logged in");
}

TEST_CASE("smtpd: a missing smtpd_sender_login_maps table refuses for now, never lets the sender through",
          "[smtpd_session]") {
    Fixture f("smtpd_sender_restrictions = reject_sender_login_mismatch\n"
              "smtpd_sender_login_maps = hash:/nonexistent/kurir-logins\n");
    f.talk("EHLO client.test\r\n", 2);
    auto r = f.talk("MAIL FROM:<boss@mx.test>\r\nRCPT TO:<alice@mx.test>\r\n", 2);
    REQUIRE(r.size() == 2);
    CHECK(r[1] == "451 4.3.0 <alice@mx.test>: Temporary lookup failure");
}

TEST_CASE("smtpd: the hard error limit ends the session with 421", "[smtpd_session]") {
    Fixture f("smtpd_hard_error_limit = 3\nsmtpd_soft_error_limit = 10\n");
    f.talk("", 1);
    auto r = f.talk("X1\r\nX2\r\nX3\r\nNOOP\r\n", 4);
    REQUIRE(r.size() == 4);
    CHECK(r[2] == "500 5.5.2 Error: command not recognized");
    CHECK(r[3] == "421 4.7.0 mx.test Error: too many errors");
    f.talk("", 5);  // runs the session to its end
    CHECK(f.eof);
    CHECK(f.closed);
}

TEST_CASE("smtpd: a message goes to cleanup as records and 250 names cleanup's queue id", "[smtpd_session]") {
    Fixture f;
    StandInCleanup cleanup(f.ctx.queue.private_socket("cleanup"), {'0', "4jhx8r6SLH89sxY", "", ""});
    f.talk("EHLO client.test\r\n", 2);
    auto r = f.talk("MAIL FROM:<s@client.test>\r\nRCPT TO:<alice@mx.test>\r\nDATA\r\n", 3);
    REQUIRE(r.size() == 3);
    CHECK(r[2].starts_with("354 "));
    r = f.talk("Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\nNOOP\r\n", 2);
    REQUIRE(r.size() == 2);
    CHECK(r[0] == "250 2.0.0 Ok: queued as 4jhx8r6SLH89sxY");
    CHECK(r[1] == "250 2.0.0 Ok");  // pipelined after the dot, answered after cleanup
    std::string stream = cleanup.stream();
    size_t scan = 0;
    mail::RecView rec;
    std::vector<std::pair<char, std::string>> records;
    while (mail::rec_next(stream, scan, rec) == mail::RecStatus::ok) records.emplace_back(rec.type, std::string(rec.data));
    auto has = [&](char type, const std::string& data) {
        for (const auto& [t, d] : records)
            if (t == type && d == data) return true;
        return false;
    };
    CHECK(has(mail::rec::sender, "s@client.test"));
    CHECK(has(mail::rec::rcpt, "alice@mx.test"));
    CHECK(has(mail::rec::line, "Subject: hi"));
    CHECK(has(mail::rec::line, ".dot"));  // dot-unstuffed
    CHECK(records.back().first == mail::rec::content_end);
}

TEST_CASE("smtpd: cleanup's refusal is the client's answer, with its code", "[smtpd_session]") {
    Fixture f;
    StandInCleanup cleanup(f.ctx.queue.private_socket("cleanup"), {'5', "4jhx8r6SLH89sxY", "5.3.4", "message too big"});
    f.talk("EHLO client.test\r\n", 2);
    f.talk("MAIL FROM:<s@client.test>\r\nRCPT TO:<alice@mx.test>\r\nDATA\r\n", 3);
    auto r = f.talk("Subject: hi\r\n\r\nbody\r\n.\r\n", 1);
    REQUIRE(r.size() == 1);
    CHECK(r[0] == "552 5.3.4 Error: message too big");
}

TEST_CASE("smtpd: a header/body_checks REJECT is answered as Postfix's, 550 and cleanup's text", "[smtpd_session]") {
    struct Row {
        mail::proto::CleanupReply reply;
        const char* answer;
    };
    const Row rows[] = {
        {{'5', "4jhx8r6SLH89sxY", "5.7.1", "message content rejected", true}, "550 5.7.1 message content rejected"},
        {{'5', "4jhx8r6SLH89sxY", "5.7.0", "no spam here", true}, "550 5.7.0 no spam here"},
        {{'4', "4jhx8r6SLH89sxY", "4.7.1", "try later", true}, "451 4.7.1 try later"},
    };
    for (const auto& row : rows) {
        Fixture f;
        StandInCleanup cleanup(f.ctx.queue.private_socket("cleanup"), row.reply);
        f.talk("EHLO client.test\r\n", 2);
        f.talk("MAIL FROM:<s@client.test>\r\nRCPT TO:<alice@mx.test>\r\nDATA\r\n", 3);
        auto r = f.talk("Subject: hi\r\n\r\nbody\r\n.\r\n", 1);
        REQUIRE(r.size() == 1);
        CHECK(r[0] == row.answer);
    }
}

// BDAT (smtpd_bdat.cpp): the chunks' bytes become the records DATA's
// lines do, with no dot-unstuffing and no end marker; the chunk's bytes
// and the next command come in one write.
TEST_CASE("smtpd: BDAT chunks go to cleanup as DATA's lines, 250 with bytes and queue id", "[smtpd_session][bdat]") {
    Fixture f;
    StandInCleanup cleanup(f.ctx.queue.private_socket("cleanup"), {'0', "4jhx8r6SLH89sxY", "", ""});
    f.talk("EHLO client.test\r\n", 2);
    std::string one = "Subject: hi\r\n\r\n..dot\r\n.\r\nbare\rcr\r";
    std::string two = "\nlast";
    auto r = f.talk("MAIL FROM:<s@client.test>\r\nRCPT TO:<alice@mx.test>\r\nBDAT " + std::to_string(one.size()) +
                        "\r\n" + one + "BDAT " + std::to_string(two.size()) + " LAST\r\n" + two + "NOOP\r\n",
                    5);
    REQUIRE(r.size() == 5);
    CHECK(r[2] == "250 2.0.0 Ok: " + std::to_string(one.size()) + " bytes");
    // The total as Postfix counts it: each line and 2 for its end (the last
    // line had none: 2 more than the chunks' 38 bytes).
    CHECK(r[3] == "250 2.0.0 Ok: 40 bytes queued as 4jhx8r6SLH89sxY");
    CHECK(r[4] == "250 2.0.0 Ok");
    std::string stream = cleanup.stream();
    size_t scan = 0;
    mail::RecView rec;
    std::vector<std::string> lines;
    char last = 0;
    while (mail::rec_next(stream, scan, rec) == mail::RecStatus::ok) {
        if (rec.type == mail::rec::line) lines.emplace_back(rec.data);
        last = rec.type;
    }
    CHECK(lines == std::vector<std::string>{"Subject: hi", "", "..dot", ".", "bare\rcr", "last"});
    CHECK(last == mail::rec::content_end);
}

TEST_CASE("smtpd: cleanup's refusal at BDAT LAST is the client's answer", "[smtpd_session][bdat]") {
    Fixture f;
    StandInCleanup cleanup(f.ctx.queue.private_socket("cleanup"), {'5', "4jhx8r6SLH89sxY", "5.3.4", "message too big"});
    f.talk("EHLO client.test\r\n", 2);
    auto r = f.talk("MAIL FROM:<s@client.test>\r\nRCPT TO:<alice@mx.test>\r\nBDAT 5 LAST\r\nhelloNOOP\r\n", 4);
    REQUIRE(r.size() == 4);
    CHECK(r[2] == "552 5.3.4 Error: message too big");
    CHECK(r[3] == "250 2.0.0 Ok");
}

TEST_CASE("smtpd: past smtpd_junk_command_limit each NOOP, RSET or VRFY counts as an error", "[smtpd_session]") {
    Fixture f("smtpd_junk_command_limit = 2\nsmtpd_hard_error_limit = 3\n");
    f.talk("", 1);
    auto r = f.talk("NOOP\r\nRSET\r\nVRFY u\r\nNOOP\r\nNOOP\r\nNOOP\r\n", 6);
    REQUIRE(r.size() == 6);
    CHECK(r[0] == "250 2.0.0 Ok");
    CHECK(r[1] == "250 2.0.0 Ok");
    CHECK(r[2].starts_with("252 "));
    CHECK(r[3] == "250 2.0.0 Ok");
    CHECK(r[4] == "250 2.0.0 Ok");  // the third one over the limit: the hard limit is reached
    CHECK(r[5] == "421 4.7.0 mx.test Error: too many errors");
    f.talk("", 7);
    CHECK(f.closed);
}

TEST_CASE("smtpd: junk within the limit is answered for ever", "[smtpd_session]") {
    Fixture f("smtpd_hard_error_limit = 3\n");  // the default junk limit, 100
    f.talk("", 1);
    std::string noops;
    for (int i = 0; i < 50; ++i) noops += "NOOP\r\n";
    auto r = f.talk(noops, 50);
    REQUIRE(r.size() == 50);
    CHECK(r.back() == "250 2.0.0 Ok");
    CHECK_FALSE(f.closed);
}

TEST_CASE("smtpd: smtpd_session_time_limit ends a session that keeps dribbling", "[smtpd_session]") {
    Fixture f("smtpd_session_time_limit = 1s\nsmtpd_junk_command_limit = 100000\n");
    f.talk("", 1);
    // A NOOP now and then keeps every read inside smtpd_timeout; only the
    // total bound can end this session.
    std::string last;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!f.closed && std::chrono::steady_clock::now() < deadline) {
        auto r = f.talk("NOOP\r\n", 1);
        if (!r.empty()) last = r.back();
        if (f.eof) break;
    }
    // The 421 may have come in the same read as the last NOOP's 250.
    for (const std::string& r : f.talk("", 2)) last = r;
    CHECK(last == "421 4.4.2 mx.test Error: timeout exceeded");
    CHECK(f.closed);
}

TEST_CASE("smtpd: reject_unauth_pipelining refuses DATA from a client that talked ahead", "[smtpd_session]") {
    const std::string conf = "smtpd_data_restrictions = reject_unauth_pipelining\n";
    {
        Fixture f(conf);
        f.talk("", 1);
        auto r = f.talk("HELO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<alice@mx.test>\r\nDATA\r\n", 4);
        REQUIRE(r.size() == 4);
        CHECK(r[3] == "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining");
    }
    {
        // After EHLO's answer a client may pipeline up to DATA.
        Fixture f(conf);
        f.talk("", 1);
        f.talk("EHLO client.test\r\n", 1);
        auto r = f.talk("MAIL FROM:<a@client.test>\r\nRCPT TO:<alice@mx.test>\r\nDATA\r\n", 3);
        REQUIRE(r.size() == 3);
        // (no cleanup in this fixture: DATA gets past the check to 451)
        CHECK(r[2] == "451 4.3.0 Error: queue file write error");
    }
}

TEST_CASE("smtpd_forbid_bare_newline: its reject code and exclusions are checked when loaded", "[smtpd_session]") {
    auto load = [](const std::string& text) {
        auto cfg = mail::Config::from_text(text, "/tmp");
        REQUIRE(cfg);
        return smtpd::load_policy(*cfg);
    };
    auto p = load("smtpd_forbid_bare_newline = reject\nmynetworks = 10.0.0.0/8\n");
    REQUIRE(p);
    CHECK(p->reject_bare_newline);
    CHECK(p->bare_newline_reject_code == 550);
    REQUIRE(p->bare_newline_exclusions.size() == 1);  // $mynetworks
    CHECK(util::cidr_match_any(p->bare_newline_exclusions, "10.1.2.3"));
    auto q = load("smtpd_forbid_bare_newline_reject_code = 250\n");
    REQUIRE_FALSE(q);
    CHECK(q.error().text.find("smtpd_forbid_bare_newline_reject_code") != std::string::npos);
    // Read only when reject is set.
    CHECK(load("smtpd_forbid_bare_newline_exclusions = mail.example\n"));
    auto r = load("smtpd_forbid_bare_newline = reject\nsmtpd_forbid_bare_newline_exclusions = mail.example\n");
    REQUIRE_FALSE(r);
    CHECK(r.error().text ==
          "smtpd_forbid_bare_newline_exclusions: \"mail.example\": only addresses and networks are supported");
}
