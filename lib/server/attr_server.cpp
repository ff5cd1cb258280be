#include "server/attr_server.hpp"

#include "util/log.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

namespace kurir::server {
namespace {

struct Conn {
    bufferevent* bev = nullptr;
    ClientDone done;
    AttrHandler handler;

    void close() {
        bufferevent_free(bev);
        ClientDone d = std::move(done);
        delete this;
        d();
    }
};

void on_read(bufferevent* bev, void* arg) {
    auto* c = static_cast<Conn*>(arg);
    evbuffer* in = bufferevent_get_input(bev);
    for (;;) {
        size_t len = evbuffer_get_length(in);
        if (len < 4) return;
        auto* head = evbuffer_pullup(in, 4);
        size_t want = 4 + (size_t(head[0]) << 24 | size_t(head[1]) << 16 | size_t(head[2]) << 8 | head[3]);
        if (want > util::kMaxFrame) {
            util::msg_warn("attribute request too large; closing connection");
            c->close();
            return;
        }
        if (len < want) return;
        auto* bytes = evbuffer_pullup(in, static_cast<ssize_t>(want));
        auto frame = util::attr_decode(std::string_view(reinterpret_cast<char*>(bytes), want));
        if (!frame || !*frame) {
            util::msg_warn("malformed attribute request: {}", frame ? "incomplete" : frame.error().text);
            c->close();
            return;
        }
        evbuffer_drain(in, want);
        auto answer = c->handler((*frame)->attrs);
        if (!answer) {
            util::msg_warn("refused request: {}", answer.error().text);
            c->close();
            return;
        }
        std::string reply = util::attr_encode(*answer);
        bufferevent_write(bev, reply.data(), reply.size());
    }
}

void on_event(bufferevent*, short, void* arg) { static_cast<Conn*>(arg)->close(); }

}  // namespace

void serve_attr_connection(ServerContext& ctx, util::Fd client, ClientDone done, AttrHandler handler) {
    auto* c = new Conn{nullptr, std::move(done), std::move(handler)};
    c->bev = bufferevent_socket_new(ctx.base, client.release(), BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, on_read, nullptr, on_event, c);
    struct timeval tv {static_cast<long>(ctx.config.seconds("ipc_timeout")), 0};
    bufferevent_set_timeouts(c->bev, &tv, &tv);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

}  // namespace kurir::server
