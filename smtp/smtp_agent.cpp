#include "smtp/smtp_agent.hpp"

#include "util/log.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/socket.h>

#include <tuple>

namespace kurir::smtp {

Connection::~Connection() {
    if (idle_timer) event_free(idle_timer);
    if (bev) bufferevent_free(bev);
}

std::unique_ptr<Agent> Agent::create(server::ServerContext& ctx, std::string& error, Protocol protocol,
                                     std::unique_ptr<SaslClient> sasl, std::unique_ptr<TlsPolicy> tls) {
    auto agent = std::unique_ptr<Agent>(new Agent(ctx));
    agent->protocol = protocol;
    agent->resolver = Resolver::create(ctx.base, ctx.config.list("dns_resolver_address"), error);
    if (!agent->resolver) return nullptr;
    agent->tls = tls ? std::move(tls) : TlsPolicy::create(ctx.config, error, protocol_name(protocol));
    if (!agent->tls) return nullptr;
    // The SASL login is the smtp client's (smtp_sasl_*); lmtp has none.
    if (protocol == Protocol::smtp) {
        agent->sasl = sasl ? std::move(sasl) : SaslClient::create(ctx.config, error);
        if (!error.empty()) return nullptr;
    }
    agent->helo_name = ctx.config.str(agent->param("smtp_helo_name"));
    auto protocols = mail::configured_inet_protocols(ctx.config);
    if (!protocols) {
        error = protocols.error().text;
        return nullptr;
    }
    agent->protocols = *protocols;
    // LMTP goes to a store on this host or next to it: no source address.
    if (agent->lmtp()) return agent;
    auto binds = mail::configured_smtp_bind_addresses(ctx.config);
    if (!binds) {
        error = binds.error().text;
        return nullptr;
    }
    for (auto [text, len, out] : {std::tuple{binds->ipv4, &agent->bind4_len, &agent->bind4},
                                  std::tuple{binds->ipv6, &agent->bind6_len, &agent->bind6}}) {
        if (text.empty()) continue;
        auto t = literal_target(text, 0);  // checked numeric by smtp_bind_addresses
        if (!t) continue;
        *out = t->addr;
        *len = t->addr_len;
    }
    return agent;
}

std::unique_ptr<Connection> Agent::take_cached(const std::string& key) {
    auto it = idle_.find(key);
    if (it == idle_.end() || it->second.empty()) return nullptr;
    auto conn = std::move(it->second.back());
    it->second.pop_back();
    if (it->second.empty()) idle_.erase(it);
    // Bytes that arrived while idle (and that no callback saw) mean a
    // connection out of step: never reuse it.
    if (evbuffer_get_length(bufferevent_get_input(conn->bev)) > 0) return nullptr;
    event_del(conn->idle_timer);
    bufferevent_setcb(conn->bev, nullptr, nullptr, nullptr, nullptr);
    return conn;
}

namespace {
// An idle connection that speaks, closes or times out is done.
void on_idle_event(bufferevent*, short, void* arg) {
    auto* conn = static_cast<Connection*>(arg);
    conn->agent->drop_cached(conn);
}
void on_idle_read(bufferevent* bev, void* arg) { on_idle_event(bev, 0, arg); }
void on_idle_timer(evutil_socket_t, short, void* arg) {
    auto* conn = static_cast<Connection*>(arg);
    // A polite goodbye straight to the socket (6 bytes fit; no reply awaited).
    if (!conn->tls) (void)::send(bufferevent_getfd(conn->bev), "QUIT\r\n", 6, MSG_NOSIGNAL | MSG_DONTWAIT);
    conn->agent->drop_cached(conn);
}
}  // namespace

void Agent::give_back(std::unique_ptr<Connection> conn) {
    long limit = ctx.config.seconds(param("smtp_connection_cache_time_limit"));
    if (limit <= 0) return;  // the Connection's destructor closes it
    conn->agent = this;
    bufferevent_setcb(conn->bev, on_idle_read, nullptr, on_idle_event, conn.get());
    bufferevent_set_timeouts(conn->bev, nullptr, nullptr);
    bufferevent_enable(conn->bev, EV_READ);
    if (!conn->idle_timer) conn->idle_timer = evtimer_new(ctx.base, on_idle_timer, conn.get());
    struct timeval tv {limit, 0};
    evtimer_add(conn->idle_timer, &tv);
    idle_[conn->cache_key].push_back(std::move(conn));
}

void Agent::drop_cached(Connection* conn) {
    auto it = idle_.find(conn->cache_key);
    if (it == idle_.end()) return;
    auto& list = it->second;
    for (auto c = list.begin(); c != list.end(); ++c)
        if (c->get() == conn) {
            list.erase(c);  // frees it
            break;
        }
    if (list.empty()) idle_.erase(it);
}

}  // namespace kurir::smtp
