#include "server/milter_conn.hpp"

#include "server/dns_channel.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fmt/format.h>
#include <sys/socket.h>

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

MilterConn::MilterConn(event_base* base, std::string name, MilterTimeouts timeouts)
    : base_(base), name_(std::move(name)), timeouts_(timeouts) {}

MilterConn::~MilterConn() {
    *alive_ = false;
    if (bev_) bufferevent_free(bev_);
    if (timer_) event_free(timer_);
    if (lookup_ && lookup_->start) event_free(lookup_->start);
}

util::Result<std::unique_ptr<MilterConn>> MilterConn::open(event_base* base, std::string_view spec,
                                                           MilterTimeouts timeouts, m::Options offer,
                                                           std::function<void(util::Result<void>)> ready,
                                                           DnsChannel* dns) {
    auto parsed = parse_milter_spec(spec);
    if (!parsed) return util::fail(fmt::format("milter {}: {}", spec, parsed.error().text));
    if (!parsed->address && !dns) return util::fail(fmt::format("milter {}: look up {}: no resolver", spec, parsed->host));
    std::unique_ptr<MilterConn> c(new MilterConn(base, std::string(spec), timeouts));
    c->offer_ = offer;
    c->ready_ = std::move(ready);
    c->timer_ = evtimer_new(base, on_timer, c.get());
    c->bev_ = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev_, on_read, nullptr, on_event, c.get());
    bufferevent_enable(c->bev_, EV_READ | EV_WRITE);
    c->arm(timeouts.connect);  // the lookup of a name and the connect together
    if (parsed->address) {
        if (bufferevent_socket_connect(c->bev_, reinterpret_cast<sockaddr*>(&parsed->address->storage),
                                       parsed->address->length) != 0)
            return util::fail(fmt::format("milter {}: connect: {}", spec, std::strerror(errno)));
        return c;
    }
    // The lookup starts from the loop: an answer c-ares has at once (a name
    // in /etc/hosts) must not call ready before open has returned.
    c->lookup_ = std::make_unique<Lookup>(Lookup{dns, std::move(*parsed), nullptr});
    c->lookup_->start = evtimer_new(base, on_lookup_start, c.get());
    struct timeval now {0, 0};
    evtimer_add(c->lookup_->start, &now);
    return c;
}

void MilterConn::on_lookup_start(int, short, void* arg) {
    auto* c = static_cast<MilterConn*>(arg);
    resolve_milter_host(*c->lookup_->dns, c->lookup_->spec,
                        [c, alive = std::weak_ptr<bool>(c->alive_)](util::Result<MilterAddress> address) {
                            auto live = alive.lock();
                            if (!live || !*live || c->failed()) return;
                            c->lookup_->done = true;
                            if (!address) return c->fault(address.error().text);
                            if (bufferevent_socket_connect(c->bev_, reinterpret_cast<sockaddr*>(&address->storage),
                                                           address->length) != 0)
                                c->fault(fmt::format("connect: {}", std::strerror(errno)));
                        });
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
    if (c->lookup_ && !c->lookup_->done) return c->fault(fmt::format("look up {}: timeout", c->lookup_->spec.host));
    c->fault(c->negotiating_ ? "timeout connecting or negotiating" : "timeout waiting for a reply");
}

}  // namespace kurir::server
