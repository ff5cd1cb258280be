#include "smtpd/smtpd_sasl_dovecot.hpp"

#include "mail/sasl.hpp"
#include "util/log.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace kurir::smtpd {

namespace {
// How long an answer from the auth server may take before every request
// on the connection is given up as a temporary failure.
constexpr long kAuthServerTimeout = 30;

class DovecotExchange : public SaslExchange {
public:
    DovecotExchange(DovecotSaslServer& server, std::string mechanism, SaslClient client)
        : server_(server), mechanism_(std::move(mechanism)), client_(std::move(client)), id_(server.next_id()) {}
    ~DovecotExchange() override { server_.forget(id_); }

    void step(std::optional<std::string> response, SaslDone done) override {
        std::string line;
        if (!started_) {
            mail::DovecotAuthRequest r;
            r.id = id_;
            r.mechanism = mechanism_;
            r.service = server_.service();
            r.local_addr = client_.local_addr;
            r.remote_addr = client_.remote_addr;
            r.secured = client_.tls;
            if (response) r.initial = mail::base64_encode(*response);
            line = mail::format_dovecot_auth(r);
            started_ = true;
        } else {
            line = mail::format_dovecot_cont(id_, mail::base64_encode(response.value_or("")));
        }
        auto sent = server_.send(id_, line, done);
        if (!sent) done({SaslOutcome::Kind::temporary, sent.error().text});
    }

private:
    DovecotSaslServer& server_;
    std::string mechanism_;
    SaslClient client_;
    unsigned long id_;
    bool started_ = false;
};
}  // namespace

DovecotSaslServer::~DovecotSaslServer() {
    if (bev_) bufferevent_free(bev_);
}

std::unique_ptr<SaslExchange> DovecotSaslServer::start(const std::string& mechanism, const SaslClient& client) {
    return std::make_unique<DovecotExchange>(*this, mechanism, client);
}

util::Result<void> DovecotSaslServer::connect() {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path_.size() >= sizeof sa.sun_path) return util::fail("connect to " + path_ + ": path too long");
    std::memcpy(sa.sun_path, path_.data(), path_.size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return util::fail_errno("socket");
    // A local socket connects at once or not at all.
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
        auto e = util::fail_errno("connect to " + path_);
        ::close(fd);
        return e;
    }
    bev_ = bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev_, on_read, nullptr, on_event, this);
    struct timeval tv {kAuthServerTimeout, 0};
    bufferevent_set_timeouts(bev_, &tv, &tv);
    bufferevent_enable(bev_, EV_READ | EV_WRITE);
    handshake_ = {};
    std::string hello = mail::dovecot_client_hello(::getpid());
    bufferevent_write(bev_, hello.data(), hello.size());
    return {};
}

util::Result<void> DovecotSaslServer::send(unsigned long id, const std::string& line, SaslDone done) {
    if (!bev_)
        if (auto c = connect(); !c) {
            util::msg_warn("SASL: {}", c.error().text);
            return util::fail("Connection lost to authentication server");
        }
    pending_[id] = std::move(done);
    bufferevent_write(bev_, line.data(), line.size());
    return {};
}

// Every request on the connection fails temporarily; the next one connects
// again.
void DovecotSaslServer::disconnect(const std::string& why) {
    if (bev_) bufferevent_free(std::exchange(bev_, nullptr));
    if (!pending_.empty()) util::msg_warn("SASL: {}: {}", path_, why);
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, done] : pending) done({SaslOutcome::Kind::temporary, "Connection lost to authentication server"});
}

void DovecotSaslServer::on_read(bufferevent* bev, void* arg) {
    auto* s = static_cast<DovecotSaslServer*>(arg);
    evbuffer* in = bufferevent_get_input(bev);
    for (;;) {
        size_t len = 0;
        char* line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
        if (!line) {
            if (evbuffer_get_length(in) > mail::kMaxDovecotLine) return s->disconnect("line too long");
            return;
        }
        std::string text(line, len);
        std::free(line);
        s->on_line(text);
        if (s->bev_ != bev) return;  // disconnected meanwhile
    }
}

void DovecotSaslServer::on_line(std::string_view line) {
    if (!handshake_.done()) {
        if (auto r = handshake_.feed(line); !r) return disconnect(r.error().text);
        return;
    }
    auto reply = mail::parse_dovecot_reply(line);
    if (!reply) return disconnect(reply.error().text);
    auto it = pending_.find(reply->id);
    if (it == pending_.end()) return;  // a session that went away
    SaslDone done = std::move(it->second);
    pending_.erase(it);
    using K = mail::DovecotReply::Kind;
    switch (reply->kind) {
        case K::ok: return done({SaslOutcome::Kind::success, reply->user});
        case K::cont: {
            auto bytes = mail::base64_decode(reply->challenge);
            if (!bytes) return done({SaslOutcome::Kind::failure, "malformed challenge from authentication server"});
            return done({SaslOutcome::Kind::challenge, std::move(*bytes)});
        }
        case K::fail:
            if (reply->temporary)
                return done({SaslOutcome::Kind::temporary, reply->reason.empty() ? "Temporary failure" : reply->reason});
            return done({SaslOutcome::Kind::failure, reply->reason.empty() ? "authentication failure" : reply->reason});
    }
}

void DovecotSaslServer::on_event(bufferevent*, short what, void* arg) {
    auto* s = static_cast<DovecotSaslServer*>(arg);
    if (what & BEV_EVENT_TIMEOUT) {
        if (s->pending_.empty()) return s->disconnect("idle");
        return s->disconnect("timeout");
    }
    s->disconnect(what & BEV_EVENT_EOF ? "connection closed" : std::string("connection error: ") +
                                                                     std::strerror(EVUTIL_SOCKET_ERROR()));
}

}  // namespace kurir::smtpd
