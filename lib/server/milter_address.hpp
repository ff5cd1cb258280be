// Where a milter listens: "unix:/path" (or "local:/path"), or
// "inet:host:port" ("inet6:" too) with host an IPv4 address, an [IPv6]
// address or a name. A socket path or an address literal is the address at
// once; a name is looked up with c-ares (A and AAAA, an IPv4 address
// first), never with the blocking resolver: smtpd serves many sessions on
// one loop, and a slow DNS server must stall only the session that waits.
//
// Error texts name the object but not the milter ("look up x.test: Domain
// name not found"); the callers put "milter SPEC: " first.
#pragma once

#include "util/result.hpp"

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::server {

class DnsChannel;

struct MilterAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
};

// A spec parsed: address set for a socket path or an address literal;
// otherwise host is the name to look up and port its port.
struct MilterSpec {
    std::optional<MilterAddress> address;
    std::string host;
    uint16_t port = 0;
};
util::Result<MilterSpec> parse_milter_spec(std::string_view spec);

// Looks up spec.host on dns: done runs once, from the loop (or at once for
// a name in /etc/hosts), also when the channel is destroyed first.
void resolve_milter_host(DnsChannel& dns, const MilterSpec& spec,
                         std::function<void(util::Result<MilterAddress>)> done);

// The blocking driver's (cleanup: one stream at a time): the address of
// spec, a name looked up on a private loop with dns_resolver_address's
// servers (empty: resolv.conf), given up after timeout_ms.
util::Result<MilterAddress> milter_address_within(std::string_view spec, const std::vector<std::string>& servers,
                                                  long timeout_ms);

}  // namespace kurir::server
