// Unix and TCP sockets: listeners for master, connections for clients.
#pragma once

#include "util/fs.hpp"
#include "util/result.hpp"

#include <string>
#include <vector>

#include <sys/un.h>

namespace kurir::util {

// "host:port", "[v6]:port" or "port" (all addresses). An IPv6 listener
// is IPV6_V6ONLY.
Result<Fd> listen_inet(const std::string& addr, int backlog = 1024);
// The numeric addresses of host (the system's resolver: /etc/hosts, DNS).
Result<std::vector<std::string>> host_addresses(const std::string& host);
// Whether the kernel makes sockets of an address family (AF_INET6 may be
// compiled out or disabled): "IPv6: Address family not supported by protocol".
Result<void> family_supported(int family);
// The address of a Unix socket: "socket path too long: PATH" when path does
// not fit sun_path (it is never cut short, which would name another file).
Result<sockaddr_un> unix_address(const std::string& path);
// Removes a stale socket file first; mode is applied to the socket file.
Result<Fd> listen_unix(const std::string& path, int mode, int backlog = 1024);
Result<Fd> connect_unix(const std::string& path, int timeout_seconds = 30);
// Never waits: fails with EAGAIN when the listener's queue is full.
Result<Fd> connect_unix_nowait(const std::string& path);
// Send/receive timeouts on a blocking socket.
void set_io_timeout(int fd, int seconds);
void set_nonblocking(int fd, bool on);
// "name[addr]" for a connected inet peer, plus the bare address.
struct Peer {
    std::string addr;
    std::string name;
    int port = 0;
};
Peer peer_of(int fd);

}  // namespace kurir::util
