// qmgr's connections to the delivery agents between two requests. An agent
// takes one request at a time and several on one connection (local,
// virtual, pipe, error and discard through server/server.hpp's
// request_server_main; smtp and lmtp in smtp/smtp_service.cpp), so a
// delivery that is answered leaves its connection here and the next
// delivery to the same transport takes it instead of connecting: no
// connect, accept and pair of status messages to master per delivery.
//
// A kept connection waits at most ipc_idle (Postfix's time after which a
// client closes an idle internal channel, so that servers may exit on
// max_idle); one the agent closes or writes on (max_use, a reload, a crash)
// is dropped when the loop sees it, and take() looks at the socket first so
// that one the loop has not seen yet is never handed out.
#pragma once

#include "server/attr_conn.hpp"

#include <map>
#include <string>
#include <vector>

namespace kurir::qmgr {

class AgentConns {
public:
    AgentConns() = default;
    ~AgentConns();  // closes every connection kept; before the event base goes
    AgentConns(const AgentConns&) = delete;
    AgentConns& operator=(const AgentConns&) = delete;

    // The connection to transport's agent used last that is still alive, or
    // nullptr; the caller rebinds it.
    server::AttrConn* take(const std::string& transport);
    // Keeps conn, which has just answered a request, for transport's next
    // one, at most idle_seconds.
    void keep(const std::string& transport, server::AttrConn* conn, long idle_seconds);

private:
    void drop(const std::string& transport, server::AttrConn* conn);

    std::map<std::string, std::vector<server::AttrConn*>> idle_;
};

}  // namespace kurir::qmgr
