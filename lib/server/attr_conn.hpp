// One attribute-protocol connection on an event loop (util/attr.hpp has the
// frame grammar), for every daemon that talks frames without blocking: the
// attribute servers, smtp's connection from qmgr, qmgr's requests to the
// delivery agents, smtpd's submission to cleanup.
//
// - Reading: whole frames, each at most max_frame bytes of payload, each
//   handed decoded to on_frame. A frame too large or malformed, more frames
//   than the peer may send (max_frames) or bytes after the last of them, the
//   peer's close, a timeout and a socket error are faults: reading stops and
//   on_fault says which and why. A peer that closed with bytes of ours
//   unread (ECONNRESET on a Unix socket, EPIPE) is a fault of its own,
//   reset: it cannot have acted on what it never read.
// - Reuse: rebind gives a connection that is between conversations new
//   handlers and a new count of frames (qmgr's idle connections to the
//   delivery agents).
// - Writing: frames, or raw bytes (smtpd's record stream to cleanup);
//   on_drained runs each time all that was written has gone out. Writes
//   may be held back to go out with later ones (smtpd's envelope waits for
//   the first bytes of content).
// - Lifetime: the connection owns itself. close() frees the socket and the
//   object, then runs on_close. It never closes on its own: on a fault its
//   owner closes it, or keeps it to write a last answer. Any handler may call
//   close(); the object goes once that handler has returned.
#pragma once

#include "util/attr.hpp"
#include "util/fs.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

struct bufferevent;
struct event_base;

namespace kurir::server {

class AttrConn {
public:
    enum class Fault {
        protocol,  // too large, malformed, more than the peer may send
        closed,    // the peer closed the connection
        timeout,   // a read or write deadline passed
        io,        // a socket error
        reset,     // the peer closed without reading all that was sent
    };
    struct Handlers {
        std::function<void(AttrConn&, util::Attrs)> on_frame;
        std::function<void(AttrConn&, Fault, const util::Error&)> on_fault;
        std::function<void(AttrConn&)> on_drained;  // optional
        std::function<void()> on_close;             // optional
        size_t max_frames = 0;                      // 0: any number
        size_t max_frame = util::kMaxFrame;         // payload bytes, at most kMaxFrame
    };

    // A connected socket (a client that a server accepted).
    static AttrConn* adopt(event_base* base, util::Fd fd, Handlers handlers);
    // Connects to the Unix socket at path without waiting: a Unix-domain
    // connect succeeds or fails at once (EAGAIN when the listener's queue is
    // full). A path too long for a socket address is an error naming it.
    static util::Result<AttrConn*> connect(event_base* base, const std::string& path, Handlers handlers);

    // New handlers, the frame count back to none. Only between
    // conversations: nothing read and not yet handed on.
    void rebind(Handlers handlers);
    // Nothing has come in, and the peer has neither closed nor failed: a
    // kept connection that may carry a new conversation.
    bool alive() const;

    void write(const util::Attrs& frame);
    void write_raw(std::string_view bytes);
    // Bytes written that have not gone out yet (held ones included).
    size_t unsent() const;
    // While held, what is written waits here and goes out together with
    // what follows once released: one system call, and one wake-up of the
    // peer, for records written in separate events.
    void hold_writes(bool held);
    // Deadlines for a read to arrive and for a write to go out; 0: none.
    void set_timeouts(long read_seconds, long write_seconds);
    void close();

private:
    AttrConn(bufferevent* bev, Handlers handlers);
    ~AttrConn() = default;
    AttrConn(const AttrConn&) = delete;
    AttrConn& operator=(const AttrConn&) = delete;
    static void on_read(bufferevent*, void* arg);
    static void on_write(bufferevent*, void* arg);
    static void on_event(bufferevent*, short what, void* arg);
    void enter() { ++depth_; }
    void leave();
    void read_frames();
    void fault(Fault kind, std::string text);

    bufferevent* bev_;
    Handlers handlers_;
    size_t frames_ = 0;  // frames read so far
    int depth_ = 0;      // handlers running: the object stays until they return
    std::vector<Handlers> retired_;  // replaced by rebind while one of them ran
    bool closed_ = false;
};

}  // namespace kurir::server
