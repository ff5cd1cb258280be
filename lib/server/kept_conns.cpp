#include "server/kept_conns.hpp"

#include <algorithm>

namespace kurir::server {

KeptConns::~KeptConns() {
    for (auto& [service, conns] : idle_)
        for (auto* conn : conns) conn->close();
}

AttrConn* KeptConns::take(const std::string& service) {
    auto it = idle_.find(service);
    if (it == idle_.end()) return nullptr;
    auto& conns = it->second;
    while (!conns.empty()) {
        AttrConn* conn = conns.back();
        conns.pop_back();
        if (conn->alive()) return conn;
        conn->close();
    }
    return nullptr;
}

void KeptConns::keep(const std::string& service, AttrConn* conn, long idle_seconds) {
    // Between requests the server has nothing to say: a frame, its close,
    // an error or the idle time passing all end the connection.
    AttrConn::Handlers h;
    h.on_frame = [this, service](AttrConn& c, util::Attrs) { drop(service, &c); };
    h.on_fault = [this, service](AttrConn& c, AttrConn::Fault, const util::Error&) { drop(service, &c); };
    conn->rebind(std::move(h));
    conn->set_timeouts(idle_seconds, idle_seconds);
    idle_[service].push_back(conn);
}

void KeptConns::drop(const std::string& service, AttrConn* conn) {
    auto& conns = idle_[service];
    conns.erase(std::remove(conns.begin(), conns.end(), conn), conns.end());
    conn->close();
}

}  // namespace kurir::server
