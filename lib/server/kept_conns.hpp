// A client's connections to a service between two requests, for services
// that take several requests on one connection: the delivery agents (local,
// virtual, pipe, error and discard through server.hpp's request_server_main;
// smtp and lmtp in smtp/smtp_service.cpp), kept by qmgr per transport; and
// cleanup, kept by smtpd. A conversation that is answered leaves its
// connection here and the next request to the same service takes it
// instead of connecting: no connect, accept and pair of status messages to
// master per request.
//
// A kept connection waits at most the idle time its owner gives (ipc_idle:
// Postfix's time after which a client closes an idle internal channel, so
// that servers may exit on max_idle); one the server closes or writes on
// (max_use, a reload, a crash) is dropped when the loop sees it, and take()
// looks at the socket first so that one the loop has not seen yet is never
// handed out. One the server closes after take() has looked is the
// caller's to notice (a reset or close before the answer's first frame).
#pragma once

#include "server/attr_conn.hpp"

#include <map>
#include <string>
#include <vector>

namespace kurir::server {

class KeptConns {
public:
    KeptConns() = default;
    ~KeptConns();  // closes every connection kept; before the event base goes
    KeptConns(const KeptConns&) = delete;
    KeptConns& operator=(const KeptConns&) = delete;

    // The connection to service used last that is still alive, or nullptr;
    // the caller rebinds it.
    AttrConn* take(const std::string& service);
    // Keeps conn, which has just answered a request, for service's next
    // one, at most idle_seconds.
    void keep(const std::string& service, AttrConn* conn, long idle_seconds);

private:
    void drop(const std::string& service, AttrConn* conn);

    std::map<std::string, std::vector<AttrConn*>> idle_;
};

}  // namespace kurir::server
