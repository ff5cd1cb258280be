#include "util/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace kurir::util {

Result<Fd> listen_inet(const std::string& addr, int backlog) {
    std::string host, port = addr;
    if (!addr.empty() && addr[0] == '[') {
        auto close = addr.find("]:");
        if (close == std::string::npos) return fail("bad listen address: " + addr);
        host = addr.substr(1, close - 1);
        port = addr.substr(close + 2);
    } else if (auto colon = addr.rfind(':'); colon != std::string::npos) {
        host = addr.substr(0, colon);
        port = addr.substr(colon + 1);
    }
    struct addrinfo hints {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    // A port may be a service name from /etc/services (smtp, submission, smtps).
    hints.ai_flags = AI_PASSIVE;
    struct addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) return fail("listen " + addr + ": " + ::gai_strerror(rc));
    Fd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        ::freeaddrinfo(res);
        return fail_errno("socket for " + addr);
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // An IPv6 listener takes IPv6 alone, as Postfix's: "::" beside
    // "0.0.0.0" on the same port, and IPv4 clients seen as themselves.
    if (res->ai_family == AF_INET6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) {
        ::freeaddrinfo(res);
        return fail_errno("setsockopt IPV6_V6ONLY for " + addr);
    }
    rc = ::bind(fd.get(), res->ai_addr, res->ai_addrlen);
    ::freeaddrinfo(res);
    if (rc < 0) return fail_errno("bind " + addr);
    if (::listen(fd.get(), backlog) < 0) return fail_errno("listen " + addr);
    return fd;
}

Result<std::vector<std::string>> host_addresses(const std::string& host) {
    struct addrinfo hints {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0) return fail(host + ": " + ::gai_strerror(rc));
    std::vector<std::string> out;
    for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN] = "";
        const void* a = ai->ai_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
                        : ai->ai_family == AF_INET6
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr)
                            : nullptr;
        if (a != nullptr && ::inet_ntop(ai->ai_family, a, text, sizeof text) != nullptr) out.emplace_back(text);
    }
    ::freeaddrinfo(res);
    return out;
}

Result<void> family_supported(int family) {
    Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno(family == AF_INET6 ? "IPv6" : "IPv4");
    return {};
}

Result<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un sun {};
    if (path.size() >= sizeof sun.sun_path) return fail("socket path too long: " + path);
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    return sun;
}

Result<Fd> listen_unix(const std::string& path, int mode, int backlog) {
    auto addr = unix_address(path);
    if (!addr) return std::unexpected(addr.error());
    sockaddr_un sun = *addr;
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket for " + path);
    ::unlink(path.c_str());
    // The socket is born with its mode (umask around bind) and its owner
    // (the caller's effective ids): nothing is changed by name afterwards,
    // in a directory whose owner could have put something else there.
    mode_t old_mask = ::umask(static_cast<mode_t>(~mode & 0777));
    int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun);
    int bind_errno = errno;
    ::umask(old_mask);
    errno = bind_errno;
    if (rc < 0) return fail_errno("bind " + path);
    if (::listen(fd.get(), backlog) < 0) return fail_errno("listen " + path);
    return fd;
}

namespace {
Result<Fd> connect_unix_socket(const std::string& path, int type_flags, int timeout_seconds) {
    auto addr = unix_address(path);
    if (!addr) return std::unexpected(addr.error());
    sockaddr_un sun = *addr;
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | type_flags, 0));
    if (!fd) return fail_errno("socket for " + path);
    if (timeout_seconds > 0) set_io_timeout(fd.get(), timeout_seconds);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0)
        return fail_errno("connect to " + path);
    return fd;
}
}  // namespace

Result<Fd> connect_unix(const std::string& path, int timeout_seconds) {
    return connect_unix_socket(path, 0, timeout_seconds);
}

Result<Fd> connect_unix_nowait(const std::string& path) { return connect_unix_socket(path, SOCK_NONBLOCK, 0); }

void set_io_timeout(int fd, int seconds) {
    struct timeval tv {};
    tv.tv_sec = seconds;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void set_nonblocking(int fd, bool on) {
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

Peer peer_of(int fd) {
    Peer peer{"unknown", "unknown", 0};
    struct sockaddr_storage ss {};
    socklen_t len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return peer;
    char host[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        peer.port = ntohs(sin->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        peer.port = ntohs(sin6->sin6_port);
    } else {
        return peer;
    }
    peer.addr = host;
    // No DNS here: a reverse lookup would block the event loop. Loopback is
    // named as Postfix names it; everything else stays "unknown".
    peer.name = (peer.addr == "127.0.0.1" || peer.addr == "::1") ? "localhost" : "unknown";
    return peer;
}

}  // namespace kurir::util
