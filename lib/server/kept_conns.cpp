#include "qmgr/qmgr_agents.hpp"

#include <algorithm>

namespace kurir::qmgr {

AgentConns::~AgentConns() {
    for (auto& [transport, conns] : idle_)
        for (auto* conn : conns) conn->close();
}

server::AttrConn* AgentConns::take(const std::string& transport) {
    auto it = idle_.find(transport);
    if (it == idle_.end()) return nullptr;
    auto& conns = it->second;
    while (!conns.empty()) {
        server::AttrConn* conn = conns.back();
        conns.pop_back();
        if (conn->alive()) return conn;
        conn->close();
    }
    return nullptr;
}

void AgentConns::keep(const std::string& transport, server::AttrConn* conn, long idle_seconds) {
    // Between requests the agent has nothing to say: a frame, its close,
    // an error or the idle time passing all end the connection.
    server::AttrConn::Handlers h;
    h.on_frame = [this, transport](server::AttrConn& c, util::Attrs) { drop(transport, &c); };
    h.on_fault = [this, transport](server::AttrConn& c, server::AttrConn::Fault, const util::Error&) {
        drop(transport, &c);
    };
    conn->rebind(std::move(h));
    conn->set_timeouts(idle_seconds, idle_seconds);
    idle_[transport].push_back(conn);
}

void AgentConns::drop(const std::string& transport, server::AttrConn* conn) {
    auto& conns = idle_[transport];
    conns.erase(std::remove(conns.begin(), conns.end(), conn), conns.end());
    conn->close();
}

}  // namespace kurir::qmgr
