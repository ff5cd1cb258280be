// smtpd keeps its connection to cleanup for the next message (issue 18),
// as qmgr keeps its connections to the delivery agents: a stand-in cleanup
// (a thread on private/cleanup) serves several messages per connection and
// counts its connections; it can also close the kept connection unread,
// or die after its hello, as a cleanup at max_use or a crashing one does.
#include "smtpd/smtpd_session.hpp"

#include "smtpd_fixture.hpp"
#include "mail/mail_proto.hpp"
#include "mail/record.hpp"
#include "util/attr.hpp"
#include "util/socket.hpp"

#include <catch2/catch.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

using namespace kurir;
namespace kt = kurir::test;

namespace {

class KeepingCleanup {
public:
    enum class Kept {
        serve,            // the next message on the connection is served
        close_unread,     // closed once the next message's bytes come, unread
        die_after_hello,  // ... after its hello, unread
    };
    KeepingCleanup(const std::string& path, Kept kept) : kept_(kept), thread_(path, [this](int fd) { serve(fd); }) {}
    int connections() {
        std::lock_guard lock(mu_);
        return connections_;
    }
    // Each stream served to its end, in order.
    std::vector<std::string> streams() {
        std::lock_guard lock(mu_);
        return streams_;
    }

private:
    // As cleanup: the hello at once on a new connection, on the first bytes
    // of the next message on a kept one. The first connection misbehaves
    // as kept_ says.
    void serve(int conn) {
        bool first;
        {
            std::lock_guard lock(mu_);
            first = connections_++ == 0;
        }
        for (bool kept = false;; kept = true) {
            if (kept) {
                struct pollfd p{conn, POLLIN, 0};
                char byte;
                if (::poll(&p, 1, 20000) != 1 || ::recv(conn, &byte, 1, MSG_PEEK) != 1) return;
                if (first && kept_ == Kept::close_unread) return;
            }
            std::string id = "4jhx8r6SLH89sx" + std::string(1, static_cast<char>('A' + streams().size()));
            if (!util::attr_write(conn, mail::proto::encode(mail::proto::CleanupHello{id}))) return;
            if (kept && first && kept_ == Kept::die_after_hello) return;
            std::string buf;
            if (!kt::read_cleanup_stream(conn, buf)) return;
            {
                std::lock_guard lock(mu_);
                streams_.push_back(buf);
            }
            if (!util::attr_write(conn, mail::proto::encode(mail::proto::CleanupReply{'0', id, "", ""}))) return;
        }
    }
    Kept kept_;
    std::mutex mu_;
    int connections_ = 0;
    std::vector<std::string> streams_;
    kt::CleanupThread thread_;
};

// A session past its greeting and EHLO.
struct Fixture : kt::SmtpdFixture {
    Fixture() : SmtpdFixture("mynetworks = 192.0.2.0/24\n") {
        start_session();
        talk("", 1);
        talk("EHLO client.test\r\n", 1);
    }
    // One message in the session; its answer.
    std::string send(const std::string& rcpt) {
        auto r = talk("MAIL FROM:<s@client.test>\r\nRCPT TO:<" + rcpt + ">\r\nDATA\r\n", 3);
        REQUIRE(r.size() == 3);
        REQUIRE(r[2].starts_with("354 "));
        r = talk("Subject: to " + rcpt + "\r\n\r\nbody\r\n.\r\n", 1);
        REQUIRE(r.size() == 1);
        return r[0];
    }
};

bool has_rcpt(const std::string& stream, const std::string& rcpt) {
    size_t scan = 0;
    mail::RecView r;
    while (mail::rec_next(stream, scan, r) == mail::RecStatus::ok)
        if (r.type == mail::rec::rcpt && r.data == rcpt) return true;
    return false;
}

}  // namespace

TEST_CASE("smtpd: the next message takes the connection cleanup answered the last one on", "[smtpd_session]") {
    Fixture f;
    KeepingCleanup cleanup(f.ctx.queue.private_socket("cleanup"), KeepingCleanup::Kept::serve);
    CHECK(f.send("a@mx.test") == "250 2.0.0 Ok: queued as 4jhx8r6SLH89sxA");
    CHECK(f.send("b@mx.test") == "250 2.0.0 Ok: queued as 4jhx8r6SLH89sxB");
    CHECK(f.send("c@mx.test") == "250 2.0.0 Ok: queued as 4jhx8r6SLH89sxC");
    CHECK(cleanup.connections() == 1);
    auto streams = cleanup.streams();
    REQUIRE(streams.size() == 3);
    CHECK(has_rcpt(streams[0], "a@mx.test"));
    CHECK(has_rcpt(streams[1], "b@mx.test"));
    CHECK(has_rcpt(streams[2], "c@mx.test"));
}

TEST_CASE("smtpd: a kept connection cleanup closes unread sends the message again on a new one, once",
          "[smtpd_session]") {
    Fixture f;
    KeepingCleanup cleanup(f.ctx.queue.private_socket("cleanup"), KeepingCleanup::Kept::close_unread);
    CHECK(f.send("a@mx.test") == "250 2.0.0 Ok: queued as 4jhx8r6SLH89sxA");
    CHECK(f.send("b@mx.test") == "250 2.0.0 Ok: queued as 4jhx8r6SLH89sxB");
    CHECK(cleanup.connections() == 2);
    auto streams = cleanup.streams();
    REQUIRE(streams.size() == 2);
    CHECK(has_rcpt(streams[1], "b@mx.test"));
    // The whole stream, from its first record to its end.
    size_t scan = 0;
    mail::RecView first;
    REQUIRE(mail::rec_next(streams[1], scan, first) == mail::RecStatus::ok);
    CHECK(first.type == mail::rec::attr);
    CHECK(first.data == "origin=smtp");
    CHECK(f.send("c@mx.test") == "250 2.0.0 Ok: queued as 4jhx8r6SLH89sxC");
    CHECK(cleanup.connections() == 2);
}

TEST_CASE("smtpd: a kept connection cleanup closes after its hello is not sent again: 451", "[smtpd_session]") {
    Fixture f;
    KeepingCleanup cleanup(f.ctx.queue.private_socket("cleanup"), KeepingCleanup::Kept::die_after_hello);
    CHECK(f.send("a@mx.test") == "250 2.0.0 Ok: queued as 4jhx8r6SLH89sxA");
    CHECK(f.send("b@mx.test") == "451 4.3.0 Error: queue file write error");
    CHECK(cleanup.connections() == 1);
    CHECK(cleanup.streams().size() == 1);
    // The client's next try is served on a new connection.
    CHECK(f.send("b@mx.test") == "250 2.0.0 Ok: queued as 4jhx8r6SLH89sxB");
    CHECK(cleanup.connections() == 2);
}
