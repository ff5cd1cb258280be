// The smtp client's name service: MX and address lookups with c-ares on the
// process's libevent loop (asynchronous, many lookups in flight). libevent's
// own evdns cannot ask for MX records, so c-ares does all the lookups; the
// servers come from dns_resolver_address, else /etc/resolv.conf.
#pragma once

#include "mail/inet_interfaces.hpp"
#include "mail/nexthop.hpp"

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

struct event_base;

namespace kurir::smtp {

struct MxRecord {
    int preference = 0;
    std::string host;
};

// Lowest preference first, random order among equal preferences (RFC 5321 5.1).
std::vector<MxRecord> order_mx(std::vector<MxRecord> records, std::mt19937& rng);

struct Target {
    std::string host;  // the name we connect to (MX host or nexthop)
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    std::string address_text() const;  // "192.0.2.1" or "2001:db8::1"
};

// An address literal ("192.0.2.1", "2001:db8::1") as a target; nullopt
// for anything else.
std::optional<Target> literal_target(const std::string& host, int port);

// A lookup's outcome: the addresses to try in order, or why there are none.
// permanent: the domain does not exist or accepts no mail (bounce), else a
// temporary failure (defer).
struct TargetList {
    std::vector<Target> targets;
    std::string error;
    std::string dsn;  // "4.4.3", "5.4.4", "5.1.10"
};

class Resolver {
public:
    // servers: "IP[:PORT]" list, empty = the system's resolv.conf.
    static std::unique_ptr<Resolver> create(event_base* base, const std::vector<std::string>& servers,
                                            std::string& error);
    ~Resolver();
    // MX lookup (unless nexthop says [host]), then the addresses of each MX
    // host of the families in protocols (inet_protocols: A and/or AAAA),
    // at most max_addresses in all.
    void find_targets(const mail::Nexthop& nexthop, size_t max_addresses, std::function<void(TargetList)> done,
                      mail::InetProtocols protocols = {});

    struct Impl;

private:
    explicit Resolver(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace kurir::smtp
