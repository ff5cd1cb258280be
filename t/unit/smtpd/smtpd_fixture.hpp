// An smtpd Session on a real event loop for the smtpd unit tests: the test
// is the client at the other end of a socket pair and talk()s to it; the
// instance's queue directory (with private/) is a temporary directory, and
// the log is captured.
#pragma once

#include "../socket_stand_in.hpp"
#include "../test_util.hpp"
#include "mail/record.hpp"
#include "smtpd/smtpd_session.hpp"
#include "util/socket.hpp"

#include <catch2/catch.hpp>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace kurir::test {

class SmtpdFixture {
public:
    // main_cf: lines after the fixture's own (myhostname and mydestination
    // mx.test, any local part a recipient, the queue directory).
    explicit SmtpdFixture(const std::string& main_cf) {
        // As in every daemon (server.cpp): a write to a peer that closed is
        // an error to handle, not the end of the process.
        ::signal(SIGPIPE, SIG_IGN);
        ::mkdir((dir / "queue").c_str(), 0700);
        ::mkdir((dir / "queue/private").c_str(), 0700);
        auto cfg = mail::Config::from_text("myhostname = mx.test\nmydestination = mx.test\nlocal_recipient_maps =\n"
                                           "queue_directory = " + dir.path() + "/queue\n" + main_cf,
                                           dir.path());
        REQUIRE(cfg);
        ctx.program = "smtpd";
        ctx.config = std::move(*cfg);
        ctx.queue = mail::QueueDir(dir.path() + "/queue");
        ctx.base = event_base_new();
        auto p = smtpd::load_policy(ctx.config);
        REQUIRE(p);
        policy = std::move(*p);
        if (policy.sasl) policy.sasl->bind(ctx.base, ctx.queue.root());
    }
    SmtpdFixture(const SmtpdFixture&) = delete;
    SmtpdFixture& operator=(const SmtpdFixture&) = delete;
    ~SmtpdFixture() {
        client.reset();
        while (started && !closed && event_base_loop(ctx.base, EVLOOP_ONCE) == 0) {
        }
        policy.sasl.reset();
        policy.cleanup_conns.reset();
        event_base_free(ctx.base);
    }

    // Starts the session; its greeting is the first reply talk() returns.
    void start_session() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        client = util::Fd(sv[0]);
        ::fcntl(sv[1], F_SETFL, O_NONBLOCK);
        ::fcntl(sv[0], F_SETFL, O_NONBLOCK);
        started = true;
        smtpd::Session::start(ctx, policy, util::Fd(sv[1]), [this] { closed = true; });
    }
    // Starts the session and reads its 220 greeting.
    void connect() {
        start_session();
        REQUIRE(talk("", 1).at(0).starts_with("220 "));
    }

    // Sends bytes, then runs the loop until `replies` whole replies came
    // back (or the session closed); returns them, one string each, the
    // lines of a multi-line reply joined by "\n".
    std::vector<std::string> talk(const std::string& bytes, size_t replies) {
        if (!bytes.empty())
            REQUIRE(::write(client.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
        std::vector<std::string> out;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (out.size() < replies) {
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            char buf[65536];
            ssize_t n = ::read(client.get(), buf, sizeof buf);
            if (n > 0) pending.append(buf, static_cast<size_t>(n));
            if (n == 0) eof = true;
            for (size_t nl; out.size() < replies && (nl = pending.find("\r\n")) != std::string::npos;) {
                std::string line = pending.substr(0, nl);
                pending.erase(0, nl + 2);
                if (line.size() >= 4 && line[3] == '-') {
                    multi += line + "\n";
                    continue;
                }
                out.push_back(multi + line);
                multi.clear();
            }
            if (out.size() >= replies || (eof && n <= 0)) break;
            struct timeval tick {0, 5000};
            event_base_loopexit(ctx.base, &tick);
            event_base_dispatch(ctx.base);
        }
        return out;
    }
    // One command line, one reply.
    std::string one(const std::string& line) {
        auto r = talk(line + "\r\n", 1);
        REQUIRE(r.size() == 1);
        return r[0];
    }

    CapturedLog log;
    TempDir dir;
    server::ServerContext ctx;
    smtpd::SmtpdPolicy policy;
    util::Fd client;
    std::string pending, multi;
    bool eof = false;
    bool started = false;
    bool closed = false;
};

// private/cleanup played by a thread (socket_stand_in.hpp).
using CleanupThread = SocketStandIn;

// A client's record stream read into buf up to its end record: false when
// the client closed before it.
inline bool read_cleanup_stream(int fd, std::string& buf) {
    size_t scan = 0;
    char tmp[4096];
    for (;;) {
        ssize_t n = ::read(fd, tmp, sizeof tmp);
        if (n <= 0) return false;
        buf.append(tmp, static_cast<size_t>(n));
        mail::RecView r;
        while (mail::rec_next(buf, scan, r) == mail::RecStatus::ok)
            if (r.type == mail::rec::content_end) return true;
    }
}

}  // namespace kurir::test
