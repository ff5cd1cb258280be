// smtpd's DKIM verification: the content pass-through (headers collected,
// forged Authentication-Results removed, body hashed from line pieces) and
// the session's end-of-data step (the field goes to cleanup as a P record
// just before X; not for mynetworks; a key that never comes is temperror).
#include "smtpd/smtpd_dkim_content.hpp"
#include "smtpd/smtpd_session.hpp"

#include "smtpd_fixture.hpp"
#include "mail/dkim_sign.hpp"
#include "mail/mail_proto.hpp"
#include "mail/record.hpp"
#include "util/attr.hpp"
#include "util/socket.hpp"

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <thread>

using namespace kurir;
namespace kt = kurir::test;

namespace {

using Records = std::vector<std::pair<char, std::string>>;

// A message's lines as content records, lines longer than piece in pieces.
Records as_records(const std::vector<std::string>& lines, size_t piece = 4096) {
    Records out;
    for (const auto& line : lines) {
        size_t pos = 0;
        while (line.size() - pos > piece) {
            out.emplace_back(mail::rec::part, line.substr(pos, piece));
            pos += piece;
        }
        out.emplace_back(mail::rec::line, line.substr(pos));
    }
    return out;
}

// Records as text for the test output: "N:line" each, one a line.
std::string show(const Records& records) {
    std::string out;
    for (const auto& [t, d] : records) out += std::string(1, t) + ":" + (d.size() > 60 ? d.substr(0, 60) + "..." + std::to_string(d.size()) : d) + "\n";
    return out;
}

struct Passed {
    Records forwarded;
    std::unique_ptr<smtpd::DkimContent> content;
};

Passed pass_through(const Records& in, size_t header_limit = 102400, std::string strip = {}) {
    Passed p;
    p.content = std::make_unique<smtpd::DkimContent>("MX.example.net", header_limit, 5, strip, true);
    auto forward = [&](char t, std::string_view d) { p.forwarded.emplace_back(t, std::string(d)); };
    for (const auto& [t, d] : in) p.content->record(t, d, forward);
    p.content->finish(forward);
    return p;
}

// A message signed with a new Ed25519 key for example.org, selector sel:
// its lines and the key's TXT record.
std::pair<std::vector<std::string>, std::string> signed_message(const std::vector<std::string>& body) {
    auto key = mail::DkimKey::generate(mail::DkimKey::Type::ed25519);
    REQUIRE(key);
    std::vector<mail::DkimHeaderField> headers = {{"From", " joe@example.org"},
                                                  {"Subject", " a subject\n\tfolded over two lines"}};
    mail::DkimBodyHash hash;
    for (const auto& l : body) hash.line(l);
    mail::DkimSignRequest req;
    req.domain = "example.org";
    req.selector = "sel";
    req.now = std::time(nullptr);
    auto value = mail::dkim_sign(*key, req, headers, hash.finish());
    REQUIRE(value);
    std::string field = "DKIM-Signature:" + *value;
    std::vector<std::string> lines;
    size_t pos = 0;
    for (size_t nl; (nl = field.find('\n', pos)) != std::string::npos; pos = nl + 1)
        lines.push_back(field.substr(pos, nl - pos));
    lines.push_back(field.substr(pos));
    lines.insert(lines.end(), {"From: joe@example.org", "Subject: a subject", "\tfolded over two lines", ""});
    lines.insert(lines.end(), body.begin(), body.end());
    auto record = key->dns_record();
    REQUIRE(record);
    return {lines, *record};
}

mail::DkimResult verdict(const smtpd::DkimContent& c, const std::string& txt) {
    REQUIRE(c.verifier().signatures() == 1);
    CHECK(c.verifier().key_name(0) == "sel._domainkey.example.org");
    return c.verifier().verify(0, {mail::DkimKeyLookup::Status::found, txt}, std::time(nullptr)).result;
}

}  // namespace

TEST_CASE("DkimContent: records pass through unchanged, a signature verifies, lines in pieces too", "[dkim][smtpd_dkim]") {
    std::string long_line(10000, 'x');
    auto [lines, txt] = signed_message({"Hello,", "", long_line + "  with   spaces ", "", ""});
    for (size_t piece : {4096, 7, 1}) {
        Records in = as_records(lines, piece);
        auto p = pass_through(in);
        CHECK(show(p.forwarded) == show(in));
        CHECK(p.content->removed() == 0);
        CHECK(p.content->unverifiable().empty());
        CHECK(verdict(*p.content, txt) == mail::DkimResult::pass);
    }
    auto changed = lines;
    changed.back() = "changed";
    CHECK(verdict(*pass_through(as_records(changed)).content, txt) == mail::DkimResult::fail);
    auto header_changed = lines;
    *std::find(header_changed.begin(), header_changed.end(), "\tfolded over two lines") = "\tfolded over three lines";
    CHECK(verdict(*pass_through(as_records(header_changed)).content, txt) == mail::DkimResult::fail);
    // Unsigned: no signatures, the body is not even put together.
    auto unsigned_msg = pass_through(as_records({"From: a@b", "", std::string(2 << 20, 'y')}, 4096));
    CHECK(unsigned_msg.content->verifier().signatures() == 0);
    CHECK(unsigned_msg.content->unverifiable().empty());
}

TEST_CASE("DkimContent: an Authentication-Results field that claims our authserv-id is removed", "[dkim][smtpd_dkim]") {
    std::vector<std::string> lines = {
        "Received: from x",
        "Authentication-Results: mx.example.net; dkim=pass header.d=bank.example",  // ours, any case
        "authentication-results:",                                                    // ours, id on the next line
        " (comment) \"mx.EXAMPLE.net\";",
        "\tdkim=pass header.d=bank.example",
        "Authentication-Results: other.example.net; dkim=pass header.d=list.example",  // someone else's
        "Authentication-Results: mx.example.net.evil; none",                          // not ours either
        "Subject: hi",
        "",
        "Authentication-Results: mx.example.net; in the body it stays",
    };
    auto p = pass_through(as_records(lines, 10));
    CHECK(p.content->removed() == 2);
    Records expected = as_records({lines[0], lines[5], lines[6], lines[7], lines[8], lines[9]}, 10);
    CHECK(show(p.forwarded) == show(expected));
    // The verifier still sees the message as the client sent it.
    CHECK(p.content->verifier().signatures() == 0);
}

// From helper 46's review: forwarding header lines masked made a stray CR
// a space, which cleanup then stripped when a space is in
// message_strip_characters: smtpd judged a continuation, cleanup a new
// field claiming our id. Lines go on stripped only; judged masked.
TEST_CASE("DkimContent: header lines go on stripped, not masked, and are judged masked", "[dkim][smtpd_dkim]") {
    std::vector<std::string> lines = {"Subject: x", "\rAuthentication-Results: mx.example.net;" + std::string(1, '\0') + " pass",
                                      "", "body"};
    auto p = pass_through(as_records(lines), 102400, std::string("\0 ", 2));
    Records expected = as_records({"Subject:x", "\rAuthentication-Results:mx.example.net;pass", "", "body"});
    CHECK(show(p.forwarded) == show(expected));
    CHECK(p.content->removed() == 0);  // a continuation of Subject, to cleanup as to smtpd
}

TEST_CASE("DkimContent: header_size_limit bounds what is held; the header ends as cleanup ends it", "[dkim][smtpd_dkim]") {
    // A field longer than the limit streams on once the limit is passed, and
    // a forged one that long is dropped whole.
    std::string big(700, 'v');  // two lines of it pass the limit, the header block stays under 4 times it
    std::vector<std::string> lines = {"X-Big: " + big, "\t" + big, "Authentication-Results: mx.example.net;",
                                      "\tdkim=pass " + big, "\t" + big, "", "body"};
    auto p = pass_through(as_records(lines, 100), 1000);
    CHECK(p.content->removed() == 1);
    CHECK(show(p.forwarded) == show(as_records({lines[0], lines[1], lines[5], lines[6]}, 100)));
    // A line that is neither a field nor a continuation ends the header
    // and is the first body line; a header without a body is fine.
    auto q = pass_through(as_records({"Subject: x", "not a header line", "Authentication-Results: mx.example.net; x"}));
    CHECK(q.content->removed() == 0);
    CHECK(q.forwarded.size() == 3);
    auto r = pass_through(as_records({"Subject: x", "Authentication-Results: mx.example.net; x"}));
    CHECK(r.content->removed() == 1);
    CHECK(show(r.forwarded) == show(as_records({"Subject: x"})));
}

// From helper 47's review: the lines of a removed field counted toward the
// header block here, though cleanup never gets them; past four times the
// limit smtpd took the next line for body, and cleanup took the forged
// field after it for a header.
TEST_CASE("DkimContent: a removed field does not count toward the header block", "[dkim][smtpd_dkim]") {
    std::vector<std::string> lines = {"Authentication-Results: mx.example.net; none"};
    for (int i = 0; i < 45; ++i) lines.push_back("\t" + std::string(99, 'x'));
    lines.insert(lines.end(), {"Authentication-Results: mx.example.net; dkim=pass header.d=bank.example", "From: a@b",
                               "", "body"});
    auto p = pass_through(as_records(lines), 1000);
    CHECK(p.content->removed() == 2);
    CHECK(show(p.forwarded) == show(as_records({"From: a@b", "", "body"})));
}

TEST_CASE("DkimContent: a body line too long to put together makes the message unverifiable", "[dkim][smtpd_dkim]") {
    auto [lines, txt] = signed_message({std::string(smtpd::DkimContent::kMaxBodyLine + 1, 'z')});
    Records in = as_records(lines);
    auto p = pass_through(in);
    CHECK(show(p.forwarded) == show(in));
    CHECK(p.content->unverifiable() == "a body line longer than 1048576 bytes");
}

namespace {

// private/cleanup played by a thread: hello, the records up to X, then 250.
class RecordingCleanup {
public:
    explicit RecordingCleanup(const std::string& path) : thread_(path, [this](int fd) { serve(fd); }) {}
    // The content records of the last message, from the first after M to X.
    Records content() {
        std::lock_guard lock(mu_);
        Records out;
        size_t scan = 0;
        mail::RecView r;
        bool in_content = false;
        while (mail::rec_next(stream_, scan, r) == mail::RecStatus::ok) {
            if (in_content) out.emplace_back(r.type, std::string(r.data));
            if (r.type == mail::rec::message) in_content = true;
        }
        return out;
    }

private:
    void serve(int conn) {
        if (!util::attr_write(conn, mail::proto::encode(mail::proto::CleanupHello{"4jhx8r6SLH89sxY"}))) return;
        std::string buf;
        bool ended = kt::read_cleanup_stream(conn, buf);
        {
            std::lock_guard lock(mu_);
            stream_ = buf;
        }
        if (ended)
            (void)util::attr_write(conn, mail::proto::encode(mail::proto::CleanupReply{'0', "4jhx8r6SLH89sxY", "", ""}));
    }
    std::mutex mu_;
    std::string stream_;
    kt::CleanupThread thread_;
};

// A UDP port on loopback that takes DNS queries and never answers.
struct SilentDns {
    util::Fd fd;
    int port = 0;
    SilentDns() {
        fd = util::Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        socklen_t len = sizeof sa;
        REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) == 0);
        port = ntohs(sa.sin_port);
    }
};

const std::string kPass = "250 2.0.0 Ok: queued as 4jhx8r6SLH89sxY";

}  // namespace

TEST_CASE("smtpd: with smtpd_dkim_verify the Authentication-Results field goes to cleanup just before X",
          "[smtpd_session][smtpd_dkim]") {
    kt::SmtpdFixture f("mynetworks = 192.0.2.0/24\nsmtpd_dkim_verify = yes\ndkim_authserv_id = mx.example.net\n");
    f.connect();
    RecordingCleanup cleanup(f.ctx.queue.private_socket("cleanup"));
    f.talk("EHLO client.test\r\n", 1);
    auto r = f.talk("MAIL FROM:<s@client.test>\r\nRCPT TO:<alice@mx.test>\r\nDATA\r\n", 3);
    REQUIRE(r.size() == 3);
    r = f.talk("Authentication-Results: mx.example.net; dkim=pass\r\nSubject: hi\r\n\r\nbody\r\n.\r\n", 1);
    REQUIRE(r.size() == 1);
    CHECK(r[0] == kPass);
    Records want = {{'N', "Subject: hi"}, {'N', ""}, {'N', "body"},
                    {'P', "Authentication-Results: mx.example.net;\n\tdkim=none"}, {'X', ""}};
    CHECK(show(cleanup.content()) == show(want));
    CHECK(f.log.text().find("dkim=none") == std::string::npos);  // unsigned mail is not logged
    CHECK(f.log.text().find("4jhx8r6SLH89sxY: removed 1 Authentication-Results header(s) claiming authserv-id "
                            "mx.example.net") != std::string::npos);
    // BDAT takes the same path.
    std::string msg = "Subject: chunked\r\n\r\nbody\r\n";
    r = f.talk("MAIL FROM:<s@client.test>\r\nRCPT TO:<alice@mx.test>\r\nBDAT " + std::to_string(msg.size()) +
                   " LAST\r\n" + msg,
               3);
    REQUIRE(r.size() == 3);
    CHECK(r[2].starts_with("250 2.0.0 Ok: 26 bytes queued as"));
    want = {{'N', "Subject: chunked"}, {'N', ""}, {'N', "body"},
            {'P', "Authentication-Results: mx.example.net;\n\tdkim=none"}, {'X', ""}};
    CHECK(show(cleanup.content()) == show(want));
}

TEST_CASE("smtpd: a key lookup that gets no answer is temperror after dkim_verify_timeout, the message is taken",
          "[smtpd_session][smtpd_dkim]") {
    SilentDns dns;
    kt::SmtpdFixture f("mynetworks = 192.0.2.0/24\nsmtpd_dkim_verify = yes\ndkim_authserv_id = mx.example.net\n"
                       "dkim_verify_timeout = 1s\ndns_resolver_address = 127.0.0.1:" + std::to_string(dns.port) + "\n");
    f.connect();
    RecordingCleanup cleanup(f.ctx.queue.private_socket("cleanup"));
    f.talk("EHLO client.test\r\n", 1);
    auto [lines, txt] = signed_message({"body"});
    std::string data;
    for (const auto& l : lines) data += l + "\r\n";
    auto r = f.talk("MAIL FROM:<s@client.test>\r\nRCPT TO:<alice@mx.test>\r\nDATA\r\n", 3);
    r = f.talk(data + ".\r\n", 1);
    REQUIRE(r.size() == 1);
    CHECK(r[0] == kPass);
    Records got = cleanup.content();
    REQUIRE(got.size() >= 2);
    CHECK(got.back() == std::pair<char, std::string>{'X', ""});
    CHECK(got[got.size() - 2].first == 'P');
    INFO(got[got.size() - 2].second);
    CHECK(got[got.size() - 2].second.starts_with(
        "Authentication-Results: mx.example.net;\n\tdkim=temperror (key lookup failed temporarily) "
        "header.d=example.org\n\theader.s=sel header.a=ed25519-sha256 header.b="));
    f.policy.dns->reset();  // the channel's events go before the fixture frees their loop
}

TEST_CASE("smtpd: smtpd_dkim_verify needs a dkim_authserv_id", "[smtpd_dkim]") {
    auto cfg = mail::Config::from_text("myhostname = mx.test\nsmtpd_dkim_verify = yes\ndkim_authserv_id =\n", "/");
    REQUIRE(cfg);
    auto p = smtpd::load_dkim_verify_policy(*cfg);
    REQUIRE_FALSE(p);
    CHECK(p.error().text == "dkim_authserv_id: empty, and smtpd_dkim_verify = yes needs it");
    auto dflt = mail::Config::from_text("myhostname = mx.test\nsmtpd_dkim_verify = yes\n", "/");
    REQUIRE(dflt);
    auto q = smtpd::load_dkim_verify_policy(*dflt);
    REQUIRE(q);
    CHECK(q->authserv_id == "mx.test");  // $myhostname
    CHECK(q->max_signatures == 5);
    CHECK(q->timeout == 10);
}
