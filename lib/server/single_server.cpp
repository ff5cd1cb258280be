// The single-client skeleton of server.hpp: request_server_main (cleanup
// and the delivery agents: one client at a time, several requests per
// connection, one at a time).
#include "server/server.hpp"
#include "server/server_start.hpp"
#include "util/log.hpp"
#include "util/socket.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <vector>

namespace kurir::server {
namespace {

// How long a kept connection has a process to itself before the process
// also looks at the listener: a client that keeps a connection (qmgr)
// sends its next request at once when it has one, and a new connection is
// most often taken by an available process meanwhile.
constexpr long kKeptAloneMs = 1000;

// Between two requests of a connection: the connection when the next
// request waits on it; a new client when one still waits on a listener
// after kKeptAloneMs (the service is at its process limit, and a kept
// connection must not keep it from a process); -1 when the client closed,
// max_idle passed or a reload asks the process to finish.
int next_request(int client, long max_idle) {
    std::vector<struct pollfd> fds{{client, POLLIN | POLLRDHUP, 0}};
    for (int lfd : detail::listen_fds()) fds.push_back({lfd, POLLIN, 0});
    auto since = std::chrono::steady_clock::now();
    for (;;) {
        if (detail::stop_requested()) return -1;
        long waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since)
                          .count();
        if (waited >= max_idle * 1000) return -1;
        bool listeners = waited >= kKeptAloneMs;
        long wait = listeners ? max_idle * 1000 - waited : std::min(kKeptAloneMs - waited, max_idle * 1000 - waited);
        int rc = ::poll(fds.data(), listeners ? fds.size() : 1, static_cast<int>(wait));
        if (rc < 0 && errno != EINTR) return -1;
        if (rc <= 0) continue;
        if (fds[0].revents == POLLIN) return client;  // a request, and the client still there
        if (fds[0].revents != 0) {  // closed or failed, perhaps after a last request
            char byte;
            return ::recv(client, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 1 ? client : -1;
        }
        if (int fd = detail::accept_any(SOCK_CLOEXEC); fd >= 0) return fd;  // else another process took it
    }
}

// The accept loop of the single server: serve takes one connection and
// returns how many uses (max_use) it made of the process, at most left.
int single_loop(ServerContext& ctx, const std::function<long(util::Fd, long left, long max_idle)>& serve) {
    long max_idle = ctx.config.seconds("max_idle");
    long max_use = ctx.config.integer("max_use");
    for (int lfd : detail::listen_fds()) util::set_nonblocking(lfd, true);
    // Every idle process of the service waits on the same socket; with
    // EPOLLEXCLUSIVE a connection wakes one of them, not all (each woken
    // process would otherwise lose the race for accept and tell master it
    // is busy and available again for nothing).
    util::Fd waiter(::epoll_create1(EPOLL_CLOEXEC));
    if (!waiter) util::msg_fatal("epoll_create1: {}", std::strerror(errno));
    struct epoll_event want {};
    want.events = EPOLLIN | EPOLLEXCLUSIVE;
    for (int lfd : detail::listen_fds())
        if (::epoll_ctl(waiter.get(), EPOLL_CTL_ADD, lfd, &want) < 0)
            util::msg_fatal("epoll_ctl on the listening socket: {}", std::strerror(errno));
    bool said_available = true;  // master counts a new process as available
    for (long used = 0; used < max_use && !detail::stop_requested();) {
        // A connection already waiting is taken at once: no wake-up, and no
        // "available" then "busy" for master to read.
        int fd = detail::accept_any(SOCK_CLOEXEC);
        if (fd < 0) {
            if (!said_available) report_status(true);
            said_available = true;
            struct epoll_event got {};
            int rc = ::epoll_wait(waiter.get(), &got, 1, static_cast<int>(max_idle * 1000));
            if (rc == 0) break;  // idle too long
            if (rc < 0) continue;
            fd = detail::accept_any(SOCK_CLOEXEC);
            if (fd < 0) continue;  // another process took it
        }
        if (said_available) report_status(false);
        said_available = false;
        used += serve(util::Fd(fd), max_use - used, max_idle);
    }
    return 0;
}

}  // namespace

int request_server_main(int argc, char** argv, std::string_view program, RequestService service,
                        Hooks hooks) {
    ServerContext ctx = detail::start(argc, argv, program, hooks);
    const int io_timeout = static_cast<int>(ctx.config.seconds("ipc_timeout"));
    return single_loop(ctx, [&](util::Fd client, long left, long max_idle) {
        util::set_io_timeout(client.get(), io_timeout);
        for (long served = 1;; ++served) {
            if (!service(ctx, client.get()) || served >= left) return served;
            int next = next_request(client.get(), max_idle);
            if (next < 0) return served;
            if (next != client.get()) {  // the kept connection closes
                client = util::Fd(next);
                util::set_io_timeout(client.get(), io_timeout);
            }
        }
    });
}

}  // namespace kurir::server
