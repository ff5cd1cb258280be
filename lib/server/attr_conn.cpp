#include "server/attr_conn.hpp"

#include "util/socket.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fmt/format.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace kurir::server {
namespace {

std::string_view pulled_up(evbuffer* in, size_t n) {
    return {reinterpret_cast<char*>(evbuffer_pullup(in, static_cast<ssize_t>(n))), n};
}

}  // namespace

AttrConn::AttrConn(bufferevent* bev, Handlers handlers) : bev_(bev), handlers_(std::move(handlers)) {
    bufferevent_setcb(bev_, on_read, on_write, on_event, this);
    // EV_WRITE is on from the start (libevent's default); enabling it again
    // would add a write event with nothing to write, and a wake-up for it.
    bufferevent_enable(bev_, EV_READ);
}

AttrConn* AttrConn::adopt(event_base* base, util::Fd fd, Handlers handlers) {
    return new AttrConn(bufferevent_socket_new(base, fd.release(), BEV_OPT_CLOSE_ON_FREE), std::move(handlers));
}

util::Result<AttrConn*> AttrConn::connect(event_base* base, const std::string& path, Handlers handlers) {
    auto fd = util::connect_unix_nowait(path);
    if (!fd) return std::unexpected(fd.error());
    return adopt(base, std::move(*fd), std::move(handlers));
}

void AttrConn::rebind(Handlers handlers) {
    // A handler may rebind its own connection: the one running stays until
    // it has returned.
    if (depth_ > 0) retired_.push_back(std::move(handlers_));
    handlers_ = std::move(handlers);
    frames_ = 0;
}

bool AttrConn::alive() const {
    if (closed_ || evbuffer_get_length(bufferevent_get_input(bev_)) > 0) return false;
    char byte;
    ssize_t n = ::recv(bufferevent_getfd(bev_), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void AttrConn::write(const util::Attrs& frame) { write_raw(util::attr_encode(frame)); }

void AttrConn::write_raw(std::string_view bytes) {
    if (!closed_) bufferevent_write(bev_, bytes.data(), bytes.size());
}

size_t AttrConn::unsent() const { return closed_ ? 0 : evbuffer_get_length(bufferevent_get_output(bev_)); }

void AttrConn::hold_writes(bool held) {
    if (closed_) return;
    if (held)
        bufferevent_disable(bev_, EV_WRITE);
    else if (!(bufferevent_get_enabled(bev_) & EV_WRITE))
        bufferevent_enable(bev_, EV_WRITE);
}

void AttrConn::set_timeouts(long read_seconds, long write_seconds) {
    struct timeval r {read_seconds, 0}, w {write_seconds, 0};
    bufferevent_set_timeouts(bev_, read_seconds > 0 ? &r : nullptr, write_seconds > 0 ? &w : nullptr);
}

void AttrConn::close() {
    if (closed_) return;
    closed_ = true;
    bufferevent_free(bev_);
    bev_ = nullptr;
    auto on_close = std::move(handlers_.on_close);
    if (depth_ == 0) delete this;
    if (on_close) on_close();
}

void AttrConn::leave() {
    if (--depth_ > 0) return;
    retired_.clear();
    if (closed_) delete this;
}

void AttrConn::on_read(bufferevent*, void* arg) {
    auto* c = static_cast<AttrConn*>(arg);
    c->enter();
    c->read_frames();
    c->leave();
}

void AttrConn::on_write(bufferevent*, void* arg) {
    auto* c = static_cast<AttrConn*>(arg);
    if (!c->handlers_.on_drained) return;
    c->enter();
    c->handlers_.on_drained(*c);
    c->leave();
}

void AttrConn::on_event(bufferevent*, short what, void* arg) {
    auto* c = static_cast<AttrConn*>(arg);
    if (what & BEV_EVENT_CONNECTED) return;
    c->enter();
    if (what & BEV_EVENT_TIMEOUT)
        c->fault(Fault::timeout, (what & BEV_EVENT_READING) ? "timed out waiting for the peer" : "timed out writing");
    else if (what & BEV_EVENT_EOF)
        c->fault(Fault::closed, "lost connection");
    else if (int e = EVUTIL_SOCKET_ERROR(); e == ECONNRESET || e == EPIPE)
        c->fault(Fault::reset, std::strerror(e));
    else
        c->fault(Fault::io, std::strerror(e));
    c->leave();
}

void AttrConn::read_frames() {
    evbuffer* in = bufferevent_get_input(bev_);
    while (!closed_) {
        size_t len = evbuffer_get_length(in);
        if (len == 0) return;
        if (handlers_.max_frames != 0 && frames_ == handlers_.max_frames)
            return fault(Fault::protocol, fmt::format("{} bytes after the last attribute frame", len));
        auto size = util::attr_frame_size(pulled_up(in, std::min<size_t>(len, 4)), handlers_.max_frame);
        if (!size) return fault(Fault::protocol, size.error().text);
        if (!*size || len < **size) return;  // wait for the rest
        auto frame = util::attr_decode(pulled_up(in, **size));
        if (!frame || !*frame) return fault(Fault::protocol, frame ? "attribute frame: incomplete" : frame.error().text);
        evbuffer_drain(in, **size);
        if (++frames_ == handlers_.max_frames && evbuffer_get_length(in) > 0)
            return fault(Fault::protocol,
                         fmt::format("{} bytes after the last attribute frame", evbuffer_get_length(in)));
        handlers_.on_frame(*this, std::move((*frame)->attrs));
    }
}

void AttrConn::fault(Fault kind, std::string text) {
    // Nothing more is read: what the peer sends next has no meaning now.
    bufferevent_disable(bev_, EV_READ);
    evbuffer* in = bufferevent_get_input(bev_);
    evbuffer_drain(in, evbuffer_get_length(in));
    handlers_.on_fault(*this, kind, util::Error{std::move(text)});
}

}  // namespace kurir::server
