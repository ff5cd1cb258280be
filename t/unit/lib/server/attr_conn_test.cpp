#include "server/attr_conn.hpp"

#include "../../test_util.hpp"
#include "util/socket.hpp"

#include <catch2/catch.hpp>

#include <event2/event.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

using namespace kurir;
using server::AttrConn;
namespace kt = kurir::test;

namespace {

struct Loop {
    event_base* base = event_base_new();
    Loop() = default;
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    ~Loop() { event_base_free(base); }
    // Runs the loop until done() holds; false when 10 s pass without.
    bool run_until(const std::function<bool()>& done) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            turn();
        }
        return true;
    }
    // One turn of the loop: whatever is ready now runs.
    void turn() {
        struct timeval tick {0, 20000};
        event_base_loopexit(base, &tick);
        event_base_loop(base, EVLOOP_ONCE);
    }
};

// What a connection reported.
struct Seen {
    std::vector<util::Attrs> frames;
    std::vector<std::pair<AttrConn::Fault, std::string>> faults;
    int closes = 0;
    int drained = 0;
};

AttrConn::Handlers recording(Seen& seen) {
    AttrConn::Handlers h;
    h.on_frame = [&seen](AttrConn&, util::Attrs a) { seen.frames.push_back(std::move(a)); };
    h.on_fault = [&seen](AttrConn&, AttrConn::Fault kind, const util::Error& e) { seen.faults.emplace_back(kind, e.text); };
    h.on_drained = [&seen](AttrConn&) { ++seen.drained; };
    h.on_close = [&seen] { ++seen.closes; };
    return h;
}

// A connected pair: the AttrConn on one end, a plain descriptor on the other.
struct Pair {
    util::Fd peer;
    AttrConn* conn = nullptr;
    Pair(Loop& loop, AttrConn::Handlers h) {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        peer.reset(sv[1]);
        conn = AttrConn::adopt(loop.base, util::Fd(sv[0]), std::move(h));
    }
    void send(std::string_view bytes) const { REQUIRE(util::write_all(peer.get(), bytes, "peer")); }
};

std::string frame(std::initializer_list<std::pair<std::string, std::string>> items) {
    return util::attr_encode(util::Attrs(items));
}

}  // namespace

TEST_CASE("AttrConn: a frame split across writes arrives once, whole", "[attr_conn]") {
    Loop loop;
    Seen seen;
    Pair p(loop, recording(seen));
    std::string f = frame({{"request", "resolve"}, {"address", "u@example.org"}});
    p.send(f.substr(0, 2));  // not even the whole length
    loop.turn();
    p.send(f.substr(2, 9));
    loop.turn();
    CHECK(seen.frames.empty());
    p.send(f.substr(11));
    REQUIRE(loop.run_until([&] { return !seen.frames.empty(); }));
    CHECK(seen.frames.size() == 1);
    CHECK(seen.frames[0].get("address") == "u@example.org");
    CHECK(seen.faults.empty());
    p.conn->close();
    CHECK(seen.closes == 1);
}

TEST_CASE("AttrConn: two frames in one write are two frames, in order", "[attr_conn]") {
    Loop loop;
    Seen seen;
    Pair p(loop, recording(seen));
    p.send(frame({{"n", "1"}}) + frame({{"n", "2"}}));
    REQUIRE(loop.run_until([&] { return seen.frames.size() == 2; }));
    CHECK(seen.frames[0].get("n") == "1");
    CHECK(seen.frames[1].get("n") == "2");
    CHECK(seen.faults.empty());
    p.conn->close();
}

TEST_CASE("AttrConn: a frame over the limit is refused from its length alone", "[attr_conn]") {
    Loop loop;
    Seen seen;
    SECTION("the connection's own limit") {
        auto h = recording(seen);
        h.max_frame = 16;
        Pair p(loop, std::move(h));
        p.send(std::string("\0\0\0\x11", 4));  // 17 bytes announced, none sent
        REQUIRE(loop.run_until([&] { return !seen.faults.empty(); }));
        CHECK(seen.faults[0].first == AttrConn::Fault::protocol);
        CHECK_THAT(seen.faults[0].second, Catch::Contains("too large") && Catch::Contains("limit 16"));
        p.conn->close();
    }
    SECTION("the default, util::kMaxFrame") {
        Pair p(loop, recording(seen));
        p.send("\xff\xff\xff\xff");
        REQUIRE(loop.run_until([&] { return !seen.faults.empty(); }));
        CHECK(seen.faults[0].first == AttrConn::Fault::protocol);
        CHECK_THAT(seen.faults[0].second, Catch::Contains("too large"));
        p.conn->close();
    }
    CHECK(seen.frames.empty());
}

TEST_CASE("AttrConn: a malformed frame is a fault, and nothing after it is read", "[attr_conn]") {
    Loop loop;
    Seen seen;
    Pair p(loop, recording(seen));
    // A name with a capital letter, then a good frame that must not be taken.
    std::string bad = std::string("\0\0\0\x07", 4) + std::string("\0\x01" "A" "\0\0\0\0", 7);
    p.send(bad + frame({{"n", "1"}}));
    REQUIRE(loop.run_until([&] { return !seen.faults.empty(); }));
    CHECK(seen.faults[0].first == AttrConn::Fault::protocol);
    CHECK_THAT(seen.faults[0].second, Catch::Contains("bad attribute name"));
    loop.turn();
    CHECK(seen.frames.empty());
    CHECK(seen.faults.size() == 1);
    p.conn->close();
}

TEST_CASE("AttrConn: bytes after the frames the peer may send are refused", "[attr_conn]") {
    Loop loop;
    Seen seen;
    auto h = recording(seen);
    h.max_frames = 1;
    Pair p(loop, std::move(h));
    SECTION("in the same write: the frame itself is not taken") {
        p.send(frame({{"n", "1"}}) + "x");
        REQUIRE(loop.run_until([&] { return !seen.faults.empty(); }));
        CHECK(seen.frames.empty());
    }
    SECTION("later") {
        p.send(frame({{"n", "1"}}));
        REQUIRE(loop.run_until([&] { return !seen.frames.empty(); }));
        p.send("xy");
        REQUIRE(loop.run_until([&] { return !seen.faults.empty(); }));
        CHECK(seen.frames.size() == 1);
    }
    CHECK(seen.faults[0].first == AttrConn::Fault::protocol);
    CHECK_THAT(seen.faults[0].second, Catch::Contains("after the last attribute frame"));
    p.conn->close();
}

TEST_CASE("AttrConn: the peer's close is a fault of its own kind", "[attr_conn]") {
    Loop loop;
    Seen seen;
    Pair p(loop, recording(seen));
    p.send(frame({{"n", "1"}}));
    p.peer.reset();
    REQUIRE(loop.run_until([&] { return !seen.faults.empty(); }));
    CHECK(seen.frames.size() == 1);
    CHECK(seen.faults[0].first == AttrConn::Fault::closed);
    CHECK(seen.closes == 0);  // only its owner closes it
    p.conn->close();
    CHECK(seen.closes == 1);
}

TEST_CASE("AttrConn: a handler may close the connection it was called for", "[attr_conn]") {
    Loop loop;
    Seen seen;
    auto h = recording(seen);
    SECTION("from on_frame: the frames after it are not handed on") {
        h.on_frame = [&seen](AttrConn& c, util::Attrs a) {
            seen.frames.push_back(std::move(a));
            c.close();
            c.close();  // twice is once
        };
        Pair p(loop, std::move(h));
        p.send(frame({{"n", "1"}}) + frame({{"n", "2"}}));
        REQUIRE(loop.run_until([&] { return seen.closes > 0; }));
        loop.turn();
        CHECK(seen.frames.size() == 1);
    }
    SECTION("from on_fault") {
        h.on_fault = [&seen](AttrConn& c, AttrConn::Fault kind, const util::Error& e) {
            seen.faults.emplace_back(kind, e.text);
            c.close();
        };
        Pair p(loop, std::move(h));
        p.peer.reset();
        REQUIRE(loop.run_until([&] { return seen.closes > 0; }));
        CHECK(seen.faults.size() == 1);
    }
    CHECK(seen.closes == 1);
}

TEST_CASE("AttrConn: frames and raw bytes written reach the peer; drained says when", "[attr_conn]") {
    Loop loop;
    Seen seen;
    Pair p(loop, recording(seen));
    p.conn->write_raw("raw");
    p.conn->write(util::Attrs{{"status", "0"}});
    REQUIRE(loop.run_until([&] { return seen.drained > 0; }));
    CHECK(p.conn->unsent() == 0);
    char raw[3];
    REQUIRE(::read(p.peer.get(), raw, 3) == 3);
    CHECK(std::string(raw, 3) == "raw");
    auto back = util::attr_read(p.peer.get());
    REQUIRE(back);
    CHECK(back->get("status") == "0");
    p.conn->close();
}

TEST_CASE("AttrConn: connect to a listening Unix socket, and a request answered", "[attr_conn]") {
    kt::TempDir tmp;
    auto listener = util::listen_unix(tmp / "private", 0600);
    REQUIRE(listener);
    Loop loop;
    Seen seen;
    auto conn = AttrConn::connect(loop.base, tmp / "private", recording(seen));
    REQUIRE(conn);
    (*conn)->write(util::Attrs{{"request", "ping"}});
    util::Fd server(::accept(listener->get(), nullptr, nullptr));
    REQUIRE(server);
    REQUIRE(loop.run_until([&] { return seen.drained > 0; }));
    auto request = util::attr_read(server.get());
    REQUIRE(request);
    CHECK(request->get("request") == "ping");
    REQUIRE(util::attr_write(server.get(), util::Attrs{{"reply", "pong"}}));
    REQUIRE(loop.run_until([&] { return !seen.frames.empty(); }));
    CHECK(seen.frames[0].get("reply") == "pong");
    (*conn)->close();
}

// smtpd's connection to cleanup once cut such a path short, to the 107
// bytes that fit, and so connected to whatever listened there.
TEST_CASE("AttrConn: a socket path too long for an address is an error naming it", "[attr_conn]") {
    kt::TempDir tmp;
    std::string fits = tmp.path() + "/" + std::string(106 - tmp.path().size(), 'p');
    REQUIRE(fits.size() == 107);
    auto listener = util::listen_unix(fits, 0600);
    REQUIRE(listener);
    std::string path = fits + "/private/cleanup";
    Loop loop;
    Seen seen;
    auto conn = AttrConn::connect(loop.base, path, recording(seen));
    REQUIRE_FALSE(conn);
    CHECK(conn.error().text == "socket path too long: " + path);
    CHECK(seen.closes == 0);
}

TEST_CASE("AttrConn: no listener is an error at once, naming the path", "[attr_conn]") {
    kt::TempDir tmp;
    Loop loop;
    Seen seen;
    auto conn = AttrConn::connect(loop.base, tmp / "nobody", recording(seen));
    REQUIRE_FALSE(conn);
    CHECK_THAT(conn.error().text, Catch::StartsWith("connect to " + tmp / "nobody") &&
                                      Catch::Contains("No such file or directory"));
}

TEST_CASE("AttrConn: a peer that closes with what was sent unread is a reset, not a close", "[attr_conn]") {
    Loop loop;
    Seen seen;
    Pair p(loop, recording(seen));
    p.conn->write(util::Attrs{{"request", "1"}});
    REQUIRE(loop.run_until([&] { return seen.drained > 0; }));
    CHECK(p.conn->alive());
    p.peer.reset();  // the frame is still in its socket, unread
    REQUIRE(loop.run_until([&] { return !seen.faults.empty(); }));
    CHECK(seen.faults[0].first == AttrConn::Fault::reset);
    CHECK_FALSE(p.conn->alive());
    p.conn->close();
}

TEST_CASE("AttrConn: alive is false once the peer has closed, before the loop has seen it", "[attr_conn]") {
    Loop loop;
    Seen seen;
    Pair p(loop, recording(seen));
    CHECK(p.conn->alive());
    p.peer.reset();
    CHECK_FALSE(p.conn->alive());
    CHECK(seen.faults.empty());
    p.conn->close();
}

TEST_CASE("AttrConn: rebind from a handler hands the next frames to the new handlers", "[attr_conn]") {
    Loop loop;
    Seen first, second;
    auto h = recording(first);
    h.max_frames = 1;
    h.on_frame = [&](AttrConn& c, util::Attrs a) {
        first.frames.push_back(std::move(a));
        auto next = recording(second);
        next.max_frames = 1;
        c.rebind(std::move(next));  // the handler running now stays until it returns
    };
    Pair p(loop, std::move(h));
    p.send(frame({{"n", "1"}}));
    REQUIRE(loop.run_until([&] { return !first.frames.empty(); }));
    p.send(frame({{"n", "2"}}));
    REQUIRE(loop.run_until([&] { return !second.frames.empty(); }));
    CHECK(first.frames.size() == 1);
    CHECK(second.frames.size() == 1);
    CHECK(second.faults.empty());  // a new count of frames: the second is not "after the last"
    p.conn->close();
    CHECK(second.closes == 1);
    CHECK(first.closes == 0);
}
