// smtp's conversation, without sockets: the delivery agent talks to a
// scripted SMTP server at the other end of an in-memory bufferevent pair,
// on a real event loop, with a real queue file in a temporary directory.
#include "cleanup/cleanup_message.hpp"
#include "mail/clients.hpp"
#include "mail/queue_file.hpp"
#include "smtp/smtp_agent.hpp"
#include "smtp/smtp_service.hpp"
#include "util/attr.hpp"

#include "../test_util.hpp"

#include <catch2/catch.hpp>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <memory>

using namespace kurir;
namespace kt = kurir::test;

namespace {

// The server's side: answers each command line with what `answer` says
// (a reply without CRLF; "" = no reply), collects the message after 354.
struct ScriptedServer {
    bufferevent* bev = nullptr;
    std::vector<std::string> commands;  // as received, without CRLF
    std::vector<std::string> bodies;    // each message as received, up to and with "."
    std::function<std::string(const std::string&)> answer;
    std::string data_reply = "250 2.0.0 Ok: queued as M1";
    bool drop_in_data = false;  // close instead of taking the message
    int reads = 0;              // read callbacks that found a whole command

    std::string pending;
    bool in_data = false;

    static void on_read(bufferevent* b, void* arg) {
        auto* s = static_cast<ScriptedServer*>(arg);
        evbuffer* in = bufferevent_get_input(b);
        size_t len = evbuffer_get_length(in);
        std::string chunk(len, '\0');
        evbuffer_remove(in, chunk.data(), len);
        s->pending += chunk;
        s->take();
    }

    void reply(const std::string& text) {
        std::string line = text + "\r\n";
        bufferevent_write(bev, line.data(), line.size());
    }

    void take() {
        bool counted = false;
        for (;;) {
            if (in_data) {
                if (drop_in_data) {
                    bufferevent_flush(bev, EV_WRITE, BEV_FINISHED);  // the client sees the connection end
                    return;
                }
                size_t end = pending.find("\r\n.\r\n");
                if (pending.starts_with(".\r\n")) end = static_cast<size_t>(-2);
                if (end == std::string::npos) return;
                bodies.push_back(pending.substr(0, end + 5));
                pending.erase(0, end + 5);
                in_data = false;
                reply(data_reply);
                continue;
            }
            size_t nl = pending.find("\r\n");
            if (nl == std::string::npos) return;
            std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 2);
            if (!counted) ++reads, counted = true;
            commands.push_back(line);
            std::string r = answer(line);
            if (!r.empty()) reply(r);
            if (r.starts_with("354")) in_data = true;
        }
    }
};

// A plain server: 220, EHLO with the given extensions, 250 to the rest,
// 354 to DATA, 221 to QUIT.
std::function<std::string(const std::string&)> plain_server(std::string extensions,
                                                            std::map<std::string, std::string> rcpt = {}) {
    return [extensions, rcpt](const std::string& line) -> std::string {
        if (line.starts_with("EHLO")) return "250-mx.example.com\r\n" + extensions + "250 8BITMIME";
        if (line.starts_with("RCPT TO:<")) {
            std::string addr = line.substr(9, line.find('>') - 9);
            if (auto it = rcpt.find(addr); it != rcpt.end()) return it->second;
            return "250 2.1.5 Ok";
        }
        if (line == "DATA") return "354 End data with <CR><LF>.<CR><LF>";
        if (line == "QUIT") return "221 2.0.0 Bye";
        return "250 2.0.0 Ok";
    };
}

class Fixture {
public:
    explicit Fixture(const std::string& extra = "") {
        ::mkdir((dir / "queue").c_str(), 0700);
        ::mkdir((dir / "queue/active").c_str(), 0700);
        auto cfg = mail::Config::from_text("myhostname = client.test\nqueue_directory = " + dir.path() +
                                               "/queue\ndns_resolver_address = 127.0.0.1:9\n" + extra,
                                           dir.path());
        REQUIRE(cfg);
        ctx.program = "smtp";
        ctx.config = std::move(*cfg);
        ctx.queue = mail::QueueDir(dir.path() + "/queue");
        ctx.base = event_base_new();
        std::string error;
        agent = smtp::Agent::create(ctx, error);
        REQUIRE(agent);
        agent->open_connection = [this](const smtp::Target&) -> bufferevent* {
            ++connections;
            if (refuse_connections) return nullptr;
            bufferevent* pair[2];
            REQUIRE(bufferevent_pair_new(ctx.base, BEV_OPT_CLOSE_ON_FREE, pair) == 0);
            servers.push_back(std::make_unique<ScriptedServer>());
            ScriptedServer& s = *servers.back();
            s.bev = pair[1];
            s.answer = script;
            s.data_reply = data_reply;
            s.drop_in_data = drop_in_data;
            bufferevent_setcb(s.bev, ScriptedServer::on_read, nullptr, nullptr, &s);
            bufferevent_enable(s.bev, EV_READ | EV_WRITE);
            s.reply(greeting);
            return pair[0];
        };
    }
    ~Fixture() {
        agent.reset();
        for (auto& s : servers) bufferevent_free(s->bev);
        event_base_free(ctx.base);
    }

    // A queued message from sender to recipients; its request for nexthop.
    smtp::Request queue_message(const std::string& sender, const std::vector<std::string>& rcpts,
                                const std::string& text, const std::string& nexthop = "[127.0.0.1]:25",
                                const std::vector<std::string>& attrs = {"origin=local"}) {
        std::string id = mail::new_queue_id();
        std::string stream = mail::compose_cleanup_stream(attrs, sender, rcpts, text);
        auto built = cleanup::build_queue_file(ctx.config, {id, 1700000000, 0, stream},
                                               [](std::string_view a) { return util::Result<std::string>(a); });
        REQUIRE(built);
        std::string path = ctx.queue.path(mail::Queue::active, id);
        ::mkdir(path.substr(0, path.rfind('/')).c_str(), 0700);
        kt::spit(path, built->file);
        auto env = mail::parse_queue_file(built->file);
        REQUIRE(env);
        smtp::Request req;
        req.queue_id = id;
        req.sender = sender;
        req.nexthop = nexthop;
        for (const auto& r : env->recipients) {
            smtp::Recipient rc;
            rc.offset = r.offset;
            rc.address = r.address;
            req.recipients.push_back(std::move(rc));
        }
        return req;
    }

    // Runs one delivery to its end; returns the recipients as decided.
    std::vector<smtp::Recipient> deliver(smtp::Request req, bool* site_dead = nullptr) {
        bool done = false;
        std::vector<smtp::Recipient> out;
        agent->deliver(std::move(req), [&](const smtp::Request& r, bool dead) {
            out = r.recipients;
            if (site_dead) *site_dead = dead;
            done = true;
        });
        while (!done) REQUIRE(event_base_loop(ctx.base, EVLOOP_ONCE) == 0);
        event_base_loop(ctx.base, EVLOOP_NONBLOCK);  // what follows the answer (QUIT, the cache)
        return out;
    }

    ScriptedServer& server(size_t i = 0) {
        REQUIRE(servers.size() > i);
        return *servers[i];
    }

    kt::TempDir dir;
    server::ServerContext ctx;
    std::unique_ptr<smtp::Agent> agent;
    std::vector<std::unique_ptr<ScriptedServer>> servers;
    std::function<std::string(const std::string&)> script = plain_server("250-PIPELINING\r\n250-SIZE 1000000\r\n");
    std::string greeting = "220 mx.example.com ESMTP";
    std::string data_reply = "250 2.0.0 Ok: queued as M1";
    bool drop_in_data = false;
    bool refuse_connections = false;
    int connections = 0;
};

}  // namespace

TEST_CASE("smtp conversation: pipelined transaction, per-recipient results, dot-stuffed body", "[smtp_conversation]") {
    Fixture f;
    f.script = plain_server("250-PIPELINING\r\n250-SIZE 1000000\r\n",
                            {{"nobody@example.com", "550 5.1.1 <nobody@example.com>: User unknown"}});
    auto req = f.queue_message("s@client.test", {"a@example.com", "nobody@example.com"},
                               "Subject: hi\n\n.leading dot\nbody\n");
    auto rc = f.deliver(req);
    REQUIRE(rc.size() == 2);
    CHECK(rc[0].dsn == "2.0.0");
    CHECK(rc[0].text == "250 2.0.0 Ok: queued as M1");
    CHECK(rc[0].remote_mta == "127.0.0.1");
    CHECK(rc[1].dsn == "5.1.1");
    CHECK(rc[1].diagnostic == "550 5.1.1 <nobody@example.com>: User unknown");
    CHECK(rc[1].text == "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <nobody@example.com>: User unknown "
                        "(in reply to RCPT TO command)");
    auto& s = f.server();
    REQUIRE(s.commands.size() >= 5);
    CHECK(s.commands[0] == "EHLO client.test");
    CHECK(s.commands[1].starts_with("MAIL FROM:<s@client.test> SIZE="));
    CHECK(s.commands[2] == "RCPT TO:<a@example.com>");
    CHECK(s.commands[3] == "RCPT TO:<nobody@example.com>");
    CHECK(s.commands[4] == "DATA");
    REQUIRE(s.bodies.size() == 1);
    CHECK(s.bodies[0].find("\r\n..leading dot\r\nbody\r\n.\r\n") != std::string::npos);
    CHECK(s.bodies[0].find("Subject: hi\r\n") != std::string::npos);
    // MAIL, both RCPTs and DATA arrived together (PIPELINING).
    CHECK(s.reads <= 3);
}

TEST_CASE("smtp conversation: without PIPELINING each command waits for its reply", "[smtp_conversation]") {
    Fixture f;
    f.script = plain_server("", {{"b@example.com", "452 4.2.2 Mailbox full"}});
    auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com", "b@example.com"}, "Subject: x\n\ny\n"));
    REQUIRE(rc.size() == 2);
    CHECK(rc[0].dsn == "2.0.0");
    CHECK(rc[1].dsn == "4.2.2");
    auto& s = f.server();
    CHECK(s.commands[1] == "MAIL FROM:<s@client.test>");  // no SIZE: not offered
    CHECK(s.reads >= 5);  // EHLO, MAIL, RCPT, RCPT, DATA one by one
}

TEST_CASE("smtp conversation: EHLO refused falls back to HELO", "[smtp_conversation]") {
    Fixture f;
    auto base = plain_server("");
    f.script = [base](const std::string& line) -> std::string {
        if (line.starts_with("EHLO")) return "502 5.5.2 Error: command not recognized";
        return base(line);
    };
    auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com"}, "Subject: x\n\ny\n"));
    REQUIRE(rc.size() == 1);
    CHECK(rc[0].dsn == "2.0.0");
    CHECK(f.server().commands[1] == "HELO client.test");
}

TEST_CASE("smtp conversation: a refusing greeting defers everything and marks the site", "[smtp_conversation]") {
    Fixture f;
    f.greeting = "421 4.3.2 mx.example.com too busy";
    bool dead = false;
    auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com", "b@example.com"}, "Subject: x\n\ny\n"), &dead);
    REQUIRE(rc.size() == 2);
    for (const auto& r : rc) {
        CHECK(r.dsn == "4.3.2");
        CHECK(r.text == "host 127.0.0.1[127.0.0.1] refused to talk to me: 421 4.3.2 mx.example.com too busy");
        CHECK(r.diagnostic == "421 4.3.2 mx.example.com too busy");
    }
    CHECK(dead);
}

TEST_CASE("smtp conversation: a refused connection defers with the site dead", "[smtp_conversation]") {
    Fixture f;
    f.refuse_connections = true;
    bool dead = false;
    auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com"}, "Subject: x\n\ny\n"), &dead);
    REQUIRE(rc.size() == 1);
    CHECK(rc[0].dsn == "4.4.1");
    CHECK(rc[0].text == "connect to 127.0.0.1[127.0.0.1]:25: Connection refused");
    CHECK(dead);
}

TEST_CASE("smtp conversation: the final reply decides every accepted recipient", "[smtp_conversation]") {
    Fixture f;
    f.data_reply = "554 5.7.1 Message rejected as spam";
    f.script = plain_server("250-PIPELINING\r\n", {{"gone@example.com", "550 5.1.1 no"}});
    auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com", "gone@example.com", "c@example.com"},
                                        "Subject: x\n\ny\n"));
    REQUIRE(rc.size() == 3);
    CHECK(rc[0].dsn == "5.7.1");
    CHECK(rc[0].text == "host 127.0.0.1[127.0.0.1] said: 554 5.7.1 Message rejected as spam "
                        "(in reply to end of DATA command)");
    CHECK(rc[1].dsn == "5.1.1");
    CHECK(rc[2].dsn == "5.7.1");
}

TEST_CASE("smtp conversation: a connection lost in the body defers what is not decided", "[smtp_conversation]") {
    Fixture f;
    f.drop_in_data = true;
    bool dead = true;
    auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com"}, "Subject: x\n\ny\n"), &dead);
    REQUIRE(rc.size() == 1);
    CHECK(rc[0].dsn == "4.4.2");
    CHECK(rc[0].text.starts_with("lost connection with 127.0.0.1[127.0.0.1] while sending"));
    CHECK_FALSE(dead);
}

TEST_CASE("smtp conversation: recipients beyond the destination limit go in a second transaction",
          "[smtp_conversation]") {
    Fixture f("smtp_destination_recipient_limit = 2\n");
    auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com", "b@example.com", "c@example.com"},
                                        "Subject: x\n\ny\n"));
    REQUIRE(rc.size() == 3);
    for (const auto& r : rc) CHECK(r.dsn == "2.0.0");
    auto& s = f.server();
    int mails = 0;
    for (const auto& c : s.commands) mails += c.starts_with("MAIL FROM:");
    CHECK(mails == 2);
    CHECK(s.bodies.size() == 2);
    CHECK(f.connections == 1);
}

TEST_CASE("smtp conversation: a connection is cached and reused by the next delivery", "[smtp_conversation]") {
    Fixture f;
    auto first = f.deliver(f.queue_message("s@client.test", {"a@example.com"}, "Subject: 1\n\ny\n"));
    auto second = f.deliver(f.queue_message("s@client.test", {"b@example.com"}, "Subject: 2\n\ny\n"));
    CHECK(first[0].dsn == "2.0.0");
    CHECK(second[0].dsn == "2.0.0");
    CHECK(f.connections == 1);
    auto& s = f.server();
    int ehlos = 0;
    for (const auto& c : s.commands) ehlos += c.starts_with("EHLO");
    CHECK(ehlos == 1);
    CHECK(s.bodies.size() == 2);
}

TEST_CASE("smtp conversation: more replies than commands is a protocol error", "[smtp_conversation]") {
    Fixture f;
    auto base = plain_server("");
    f.script = [base](const std::string& line) -> std::string {
        if (line.starts_with("MAIL")) return "250 2.1.0 Ok\r\n250 2.1.0 Ok";
        return base(line);
    };
    auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com"}, "Subject: x\n\ny\n"));
    REQUIRE(rc.size() == 1);
    CHECK(rc[0].dsn.starts_with("4."));
    CHECK(rc[0].text.find("bad reply from 127.0.0.1[127.0.0.1]") != std::string::npos);
}

TEST_CASE("smtp's qmgr service refuses a request with a missing field, logs it, answers nothing",
          "[smtp_conversation]") {
    Fixture f;
    kt::CapturedLog log;
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    util::Fd ours(sv[0]);
    bool closed = false;
    smtp::serve_qmgr(f.ctx, *f.agent, util::Fd(sv[1]), [&] { closed = true; });
    REQUIRE(util::attr_write(ours.get(), {{"protocol", "delivery-request/1"}, {"queue_id", "4jhx8r6SLH89sxY"}}));
    while (!closed) REQUIRE(event_base_loop(f.ctx.base, EVLOOP_ONCE) == 0);
    char byte;
    CHECK(::read(ours.get(), &byte, 1) == 0);
    CHECK(log.text().find("warning: smtp: refused request: delivery-request: missing field sender") != std::string::npos);
    CHECK(f.connections == 0);
}

TEST_CASE("smtp conversation: SMTPUTF8 passed on, downgraded or bounced 5.6.7 as Postfix", "[smtp_conversation][smtputf8]") {
    const std::vector<std::string> flagged{"origin=local", "smtputf8=yes"};
    const std::string utf8_rcpt = "\xc3\xbc@example.com";
    SECTION("the server offers it: MAIL FROM says SMTPUTF8") {
        Fixture f;
        f.script = plain_server("250-PIPELINING\r\n250-SMTPUTF8\r\n");
        auto rc = f.deliver(f.queue_message("s@client.test", {utf8_rcpt}, "Subject: x\n\ny\n", "[127.0.0.1]:25", flagged));
        REQUIRE(rc.size() == 1);
        CHECK(rc[0].dsn == "2.0.0");
        CHECK(f.server().commands[1] == "MAIL FROM:<s@client.test> SMTPUTF8");
        CHECK(f.server().commands[2] == "RCPT TO:<" + utf8_rcpt + ">");
    }
    SECTION("it does not, and the envelope needs UTF-8: every recipient bounces, nothing is sent") {
        Fixture f;
        f.script = plain_server("250-PIPELINING\r\n");
        auto rc = f.deliver(f.queue_message("s@client.test", {utf8_rcpt, "a@example.com"}, "Subject: x\n\ny\n",
                                            "[127.0.0.1]:25", flagged));
        REQUIRE(rc.size() == 2);
        for (const auto& r : rc) {
            CHECK(r.dsn == "5.6.7");
            CHECK(r.text == "SMTPUTF8 is required, but was not offered by host 127.0.0.1[127.0.0.1]");
        }
        for (const auto& c : f.server().commands) CHECK_FALSE(c.starts_with("MAIL"));
    }
    SECTION("it does not, and only a header needs UTF-8: bounced too") {
        Fixture f;
        f.script = plain_server("250-PIPELINING\r\n");
        auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com"}, "Subject: gr\xc3\xbc\xc3\x9f\n\ny\n",
                                            "[127.0.0.1]:25", flagged));
        REQUIRE(rc.size() == 1);
        CHECK(rc[0].dsn == "5.6.7");
    }
    SECTION("it does not, and everything but the body is ASCII: sent without SMTPUTF8") {
        Fixture f;
        f.script = plain_server("250-PIPELINING\r\n");
        auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com"}, "Subject: x\n\nb\xc3\xbc" "dy\n",
                                            "[127.0.0.1]:25", flagged));
        REQUIRE(rc.size() == 1);
        CHECK(rc[0].dsn == "2.0.0");
        CHECK(f.server().commands[1] == "MAIL FROM:<s@client.test> BODY=8BITMIME");
    }
    SECTION("a message never flagged goes as it is, UTF-8 or not (as before SMTPUTF8)") {
        Fixture f;
        f.script = plain_server("250-PIPELINING\r\n250-SMTPUTF8\r\n");
        auto rc = f.deliver(f.queue_message("s@client.test", {utf8_rcpt}, "Subject: x\n\ny\n"));
        REQUIRE(rc.size() == 1);
        CHECK(rc[0].dsn == "2.0.0");
        CHECK(f.server().commands[1] == "MAIL FROM:<s@client.test>");
    }
}

// ---- the same client as lmtp (RFC 2033) --------------------------------------

namespace {
// An LMTP server: LHLO with PIPELINING, per-recipient RCPT answers; the
// replies after the data are the fixture's data_reply (one per recipient).
std::function<std::string(const std::string&)> lmtp_server(std::map<std::string, std::string> rcpt = {}) {
    return [rcpt](const std::string& line) -> std::string {
        if (line.starts_with("LHLO")) return "250-store.example.com\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES";
        if (line.starts_with("EHLO") || line.starts_with("HELO")) return "500 5.5.1 Unknown command";
        if (line.starts_with("RCPT TO:<")) {
            std::string addr = line.substr(9, line.find('>') - 9);
            if (auto it = rcpt.find(addr); it != rcpt.end()) return it->second;
            return "250 2.1.5 OK";
        }
        if (line == "DATA") return "354 OK";
        if (line == "QUIT") return "221 2.0.0 Bye";
        return "250 2.0.0 OK";
    };
}
}  // namespace

TEST_CASE("lmtp conversation: LHLO, one reply per accepted recipient after the data", "[lmtp_conversation]") {
    Fixture f;
    f.agent->protocol = smtp::Protocol::lmtp;
    f.script = lmtp_server({{"nobody@example.com", "550 5.1.1 <nobody@example.com> User doesn't exist"}});
    // a: saved; nobody: refused at RCPT (no reply after the data); full: deferred after the data.
    f.data_reply = "250 2.0.0 <a@example.com> kX Saved\r\n452 4.2.2 <full@example.com> Quota exceeded";
    int family = 0;
    std::string path;
    auto open = f.agent->open_connection;
    f.agent->open_connection = [&](const smtp::Target& t) {
        family = t.addr.ss_family;
        if (family == AF_UNIX) path = reinterpret_cast<const sockaddr_un*>(&t.addr)->sun_path;
        return open(t);
    };
    auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com", "nobody@example.com", "full@example.com"},
                                        "Subject: hi\n\nbody\n", "unix:private/dovecot-lmtp"));
    CHECK(family == AF_UNIX);
    CHECK(path == f.dir.path() + "/queue/private/dovecot-lmtp");
    REQUIRE(rc.size() == 3);
    CHECK(rc[0].dsn == "2.0.0");
    CHECK(rc[0].text == "250 2.0.0 <a@example.com> kX Saved");
    CHECK(rc[0].remote_mta == "client.test");
    CHECK(rc[1].dsn == "5.1.1");
    CHECK(rc[1].text == "host client.test[private/dovecot-lmtp] said: 550 5.1.1 <nobody@example.com> User doesn't "
                        "exist (in reply to RCPT TO command)");
    CHECK(rc[2].dsn == "4.2.2");
    CHECK(rc[2].diagnostic == "452 4.2.2 <full@example.com> Quota exceeded");
    CHECK(rc[2].text == "host client.test[private/dovecot-lmtp] said: 452 4.2.2 <full@example.com> Quota exceeded "
                        "(in reply to end of DATA command)");
    auto& s = f.server();
    REQUIRE(s.commands.size() >= 6);
    CHECK(s.commands[0] == "LHLO client.test");
    CHECK(s.commands[1] == "MAIL FROM:<s@client.test>");
    CHECK(s.commands[5] == "DATA");
    REQUIRE(s.bodies.size() == 1);
}

TEST_CASE("lmtp conversation: every recipient saved, over TCP without MX", "[lmtp_conversation]") {
    Fixture f;
    f.agent->protocol = smtp::Protocol::lmtp;
    f.script = lmtp_server();
    f.data_reply = "250 2.0.0 <a@example.com> Saved\r\n250 2.0.0 <b@example.com> Saved";
    auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com", "b@example.com"}, "Subject: x\n\ny\n",
                                        "inet:127.0.0.1:2424"));
    REQUIRE(rc.size() == 2);
    CHECK(rc[0].dsn == "2.0.0");
    CHECK(rc[0].text == "250 2.0.0 <a@example.com> Saved");
    CHECK(rc[1].dsn == "2.0.0");
    CHECK(rc[1].text == "250 2.0.0 <b@example.com> Saved");
    CHECK(rc[0].remote_mta == "127.0.0.1");
}

TEST_CASE("lmtp conversation: a refused LHLO has no HELO fallback", "[lmtp_conversation]") {
    Fixture f;
    f.agent->protocol = smtp::Protocol::lmtp;
    f.script = [](const std::string& line) -> std::string {
        if (line.starts_with("LHLO")) return "500 5.5.1 Unknown command";
        return "250 2.0.0 OK";
    };
    bool dead = false;
    auto rc = f.deliver(f.queue_message("s@client.test", {"a@example.com"}, "Subject: x\n\ny\n", "unix:/run/lmtp"),
                        &dead);
    REQUIRE(rc.size() == 1);
    CHECK(rc[0].dsn == "5.5.1");
    CHECK(rc[0].text == "host client.test[/run/lmtp] said: 500 5.5.1 Unknown command (in reply to LHLO command)");
    for (const auto& c : f.server().commands) CHECK_FALSE(c.starts_with("HELO"));
}
