#include "server/milter_conn.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace kurir::server {
namespace {

namespace m = mail::milter;

// A reply packet larger than this is a fault: libmilter's largest (a body
// replacement chunk) is 64 KB.
constexpr size_t kMaxReplyPacket = 1 << 20;

long now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

util::Result<MilterAddress> milter_address(std::string_view spec) {
    MilterAddress a;
    if (spec.starts_with("unix:") || spec.starts_with("local:")) {
        std::string path(spec.substr(spec.find(':') + 1));
        auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
        if (path.empty() || path.size() >= sizeof(un->sun_path))
            return util::fail(fmt::format("milter {}: bad socket path", spec));
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, path.data(), path.size());
        a.length = static_cast<socklen_t>(sizeof(sa_family_t) + path.size() + 1);
        return a;
    }
    if (!spec.starts_with("inet:") && !spec.starts_with("inet6:"))
        return util::fail(fmt::format("milter {}: want inet:host:port or unix:/path", spec));
    std::string_view rest = spec.substr(spec.find(':') + 1);
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size())
        return util::fail(fmt::format("milter {}: want inet:host:port", spec));
    std::string host(rest.substr(0, colon)), port(rest.substr(colon + 1));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0 || res == nullptr)
        return util::fail(fmt::format("milter {}: {}", spec, gai_strerror(rc)));
    std::memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
    a.length = res->ai_addrlen;
    freeaddrinfo(res);
    return a;
}

MilterConn::MilterConn(event_base* base, std::string name, MilterTimeouts timeouts)
    : base_(base), name_(std::move(name)), timeouts_(timeouts) {}

MilterConn::~MilterConn() {
    *alive_ = false;
    if (bev_) bufferevent_free(bev_);
    if (timer_) event_free(timer_);
}

util::Result<std::unique_ptr<MilterConn>> MilterConn::open(event_base* base, std::string_view spec,
                                                           MilterTimeouts timeouts, m::Options offer,
                                                           std::function<void(util::Result<void>)> ready) {
    auto address = milter_address(spec);
    if (!address) return std::unexpected(address.error());
    std::unique_ptr<MilterConn> c(new MilterConn(base, std::string(spec), timeouts));
    c->offer_ = offer;
    c->ready_ = std::move(ready);
    c->timer_ = evtimer_new(base, on_timer, c.get());
    c->bev_ = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev_, on_read, nullptr, on_event, c.get());
    bufferevent_enable(c->bev_, EV_READ | EV_WRITE);
    c->arm(timeouts.connect);
    if (bufferevent_socket_connect(c->bev_, reinterpret_cast<sockaddr*>(&address->storage), address->length) != 0)
        return util::fail(fmt::format("milter {}: connect: {}", spec, std::strerror(errno)));
    return c;
}

void MilterConn::arm(long seconds) {
    struct timeval tv {seconds, 0};
    evtimer_add(timer_, &tv);
}

void MilterConn::arm_until(long deadline_ms) {
    long left = std::max(0L, deadline_ms - now_ms());
    struct timeval tv {left / 1000, static_cast<suseconds_t>(left % 1000 * 1000)};
    evtimer_add(timer_, &tv);
}

void MilterConn::request(std::string packets, bool want_reply, long timeout,
                         std::function<void(util::Result<Reply>)> done,
                         std::function<util::Result<void>(const Reply&)> on_edit) {
    if (failed()) return done(util::fail(error_));
    bufferevent_write(bev_, packets.data(), packets.size());
    if (!want_reply) {
        Reply r;
        r.kind = m::ReplyKind::continue_;
        return done(r);
    }
    done_ = std::move(done);
    on_edit_ = std::move(on_edit);
    deadline_ = m::ReplyDeadline(now_ms(), timeout);
    arm_until(deadline_.at());
    read_packets();  // a reply that came early (it cannot: nothing was asked) is a fault there
}

void MilterConn::send(std::string_view packets) {
    if (!failed()) bufferevent_write(bev_, packets.data(), packets.size());
}

void MilterConn::on_read(bufferevent*, void* arg) { static_cast<MilterConn*>(arg)->read_packets(); }

void MilterConn::read_packets() {
    if (failed()) return;
    evbuffer* in = bufferevent_get_input(bev_);
    size_t n = evbuffer_get_length(in);
    if (n > 0) {
        size_t old = in_.size();
        in_.resize(old + n);
        evbuffer_remove(in, in_.data() + old, n);
    }
    auto alive = alive_;
    while (*alive && !failed() && !in_.empty()) {
        auto packet = m::take_packet(in_, kMaxReplyPacket);
        if (!packet) return fault(packet.error().text);
        if (!*packet) return;
        handle(std::move(**packet));
    }
}

void MilterConn::handle(m::Packet packet) {
    if (!done_ && !negotiating_) return fault(fmt::format("unexpected reply packet '{}'", packet.command));
    auto reply = m::decode_reply(packet);
    if (!reply) return fault(reply.error().text);
    if (negotiating_) {
        if (reply->kind != m::ReplyKind::optneg) return fault("reply to option negotiation is not option negotiation");
        const auto& o = reply->options;
        if (o.version < 2 || o.version > offer_.version)
            return fault(fmt::format("protocol version {} not supported (offered {})", o.version, offer_.version));
        if ((o.actions & ~offer_.actions) != 0)
            return fault(fmt::format("actions 0x{:x} not offered (offered 0x{:x})", o.actions, offer_.actions));
        if ((o.steps & ~offer_.steps) != 0)
            return fault(fmt::format("protocol steps 0x{:x} not offered (offered 0x{:x})", o.steps, offer_.steps));
        negotiated_.options = o;
        negotiated_.macro_lists = reply->macro_lists;
        negotiating_ = false;
        evtimer_del(timer_);
        auto ready = std::move(ready_);
        ready_ = nullptr;
        ready({});
        return;
    }
    switch (reply->kind) {
    case m::ReplyKind::progress:
        deadline_.progress(now_ms());
        arm_until(deadline_.at());
        return;
    case m::ReplyKind::add_header:
    case m::ReplyKind::insert_header:
    case m::ReplyKind::change_header:
    case m::ReplyKind::replace_body:
    case m::ReplyKind::add_rcpt:
    case m::ReplyKind::add_rcpt_par:
    case m::ReplyKind::delete_rcpt:
    case m::ReplyKind::change_from:
    case m::ReplyKind::quarantine: {
        if (!on_edit_) return fault(fmt::format("modification reply '{}' outside the end of message", packet.command));
        if (auto ok = on_edit_(*reply); !ok) return fault(ok.error().text);
        return;
    }
    case m::ReplyKind::optneg: return fault("unexpected option negotiation reply");
    case m::ReplyKind::connection_fail:
    case m::ReplyKind::shutdown: return fault(fmt::format("milter closes the conversation ('{}')", packet.command));
    default: finish(std::move(*reply));
    }
}

void MilterConn::finish(util::Result<Reply> result) {
    evtimer_del(timer_);
    auto done = std::move(done_);
    done_ = nullptr;
    on_edit_ = nullptr;
    if (done) done(std::move(result));
}

void MilterConn::fault(std::string text) {
    if (failed()) return;
    error_ = fmt::format("milter {}: {}", name_, text);
    evtimer_del(timer_);
    bufferevent_disable(bev_, EV_READ | EV_WRITE);
    in_.clear();
    if (negotiating_) {
        negotiating_ = false;
        auto ready = std::move(ready_);
        ready_ = nullptr;
        if (ready) ready(util::fail(error_));
        return;
    }
    if (done_) finish(util::fail(error_));
}

void MilterConn::on_event(bufferevent*, short what, void* arg) {
    auto* c = static_cast<MilterConn*>(arg);
    if (what & BEV_EVENT_CONNECTED) {
        if (!c->negotiating_) return;
        evtimer_del(c->timer_);
        std::string optneg = m::encode_optneg(c->offer_);
        bufferevent_write(c->bev_, optneg.data(), optneg.size());
        c->arm(c->timeouts_.command);
        return;
    }
    if (what & BEV_EVENT_EOF) return c->fault("connection closed by the milter");
    int err = EVUTIL_SOCKET_ERROR();
    c->fault(fmt::format("{}", err ? std::strerror(err) : "connection error"));
}

void MilterConn::on_timer(int, short, void* arg) {
    auto* c = static_cast<MilterConn*>(arg);
    c->fault(c->negotiating_ ? "timeout connecting or negotiating" : "timeout waiting for a reply");
}

}  // namespace kurir::server
