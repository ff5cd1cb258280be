// inet_interfaces and inet_protocols, as Postfix reads them: which address
// families kurir uses, and which local addresses an inet service of
// master.cf listens on when its listener names no host ("smtp inet ...",
// "2525 inet ..."). A listener with a host of its own ("127.0.0.1:2525",
// "[::1]:2525") listens only there. Pure functions; hostnames in
// inet_interfaces are resolved by the function the caller passes.
//
//   inet_protocols  ipv4, ipv6, all (= ipv4, ipv6), or a list of ipv4/ipv6
//   inet_interfaces all (the wildcard address of each family: 0.0.0.0 and
//                   ::), loopback-only (127.0.0.1 and ::1), or a list of
//                   addresses ("192.0.2.1", "::1", "[::1]") and hostnames
//
// Addresses of a family that inet_protocols leaves out are dropped (a
// hostname may have both); a list that ends up empty is an error.
// configured_inet_protocols and configured_listen_hosts below add the
// system: the kernel's families and the system's resolver.
#pragma once

#include "mail/config.hpp"

#include "util/result.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

struct InetProtocols {
    bool ipv4 = true;
    bool ipv6 = true;
    bool operator==(const InetProtocols&) const = default;
};

util::Result<InetProtocols> parse_inet_protocols(std::string_view value);
// "ipv4", "ipv6" or "ipv4, ipv6": the families in use, as a log line says them.
std::string inet_protocols_text(InetProtocols p);

// The numeric addresses of a hostname (any family), or an error naming it.
using HostResolver = std::function<util::Result<std::vector<std::string>>(const std::string& host)>;

// The addresses an inet listener without a host of its own binds, in
// order, without duplicates: IPv4 before IPv6 for all and loopback-only.
util::Result<std::vector<std::string>> inet_listen_hosts(std::string_view inet_interfaces, InetProtocols protocols,
                                                         const HostResolver& resolve);

// The listen addresses of a master.cf inet service: its own when its name
// has a host ("127.0.0.1:25", "[::1]:25"), else "HOST:PORT" for each of
// hosts (an IPv6 HOST in brackets).
bool inet_service_has_host(std::string_view service_name);
std::vector<std::string> inet_listen_addresses(std::string_view service_name, const std::vector<std::string>& hosts);

// The smtp client's source address per family: smtp_bind_address (IPv4)
// and smtp_bind_address6 (IPv6), each a numeric address or empty; a family
// without one takes the address inet_interfaces gives it when that is just
// one and not loopback (Postfix's rule; set 0.0.0.0 or :: to bind nothing).
// "" means the kernel picks; a wildcard given is "" too.
struct BindAddresses {
    std::string ipv4;
    std::string ipv6;
};
util::Result<BindAddresses> smtp_bind_addresses(std::string_view bind4, std::string_view bind6,
                                                const std::vector<std::string>& listen_hosts);

// inet_protocols of cfg less the families the kernel lacks, each dropped
// with Postfix's warning ("inet_protocols: IPv6 support is disabled: ...").
util::Result<InetProtocols> configured_inet_protocols(const Config& cfg);
// inet_listen_hosts of cfg's inet_interfaces, hostnames by getaddrinfo.
util::Result<std::vector<std::string>> configured_listen_hosts(const Config& cfg);
// smtp_bind_addresses of cfg (inet_interfaces resolved only when a family needs
// it).
util::Result<BindAddresses> configured_smtp_bind_addresses(const Config& cfg);

}  // namespace kurir::mail
