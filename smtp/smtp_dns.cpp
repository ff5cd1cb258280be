#include "smtp/smtp_dns.hpp"

#include "server/dns_channel.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

namespace kurir::smtp {

std::vector<MxRecord> order_mx(std::vector<MxRecord> records, std::mt19937& rng) {
    std::shuffle(records.begin(), records.end(), rng);
    std::stable_sort(records.begin(), records.end(),
                     [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
    return records;
}

std::string Target::address_text() const {
    char buf[INET6_ADDRSTRLEN] = "?";
    if (addr.ss_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, buf, sizeof buf);
    else if (addr.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr, buf, sizeof buf);
    return buf;
}

struct Resolver::Impl {
    std::unique_ptr<server::DnsChannel> dns;
};

Resolver::Resolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Resolver::~Resolver() = default;

std::unique_ptr<Resolver> Resolver::create(event_base* base, const std::vector<std::string>& servers,
                                           std::string& error) {
    auto dns = server::DnsChannel::create(base, servers);
    if (!dns) {
        error = dns.error().text;
        return nullptr;
    }
    auto impl = std::make_unique<Impl>();
    impl->dns = std::move(*dns);
    return std::unique_ptr<Resolver>(new Resolver(std::move(impl)));
}

namespace {

bool permanent(int status) { return status == ARES_ENOTFOUND; }

}  // namespace

// An address literal ([192.0.2.1], [IPv6:2001:db8::1] as parsed) is its own
// address; c-ares 1.18 would send its digits to the DNS as a name.
std::optional<Target> literal_target(const std::string& host, int port) {
    Target t;
    t.host = host;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&t.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&t.addr);
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(port));
        t.addr_len = sizeof *v4;
        return t;
    }
    if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(port));
        t.addr_len = sizeof *v6;
        return t;
    }
    return std::nullopt;
}

namespace {

std::string describe(int status, const std::string& name, const char* type) {
    std::string what = status == ARES_ENOTFOUND ? "Host not found"
                       : status == ARES_ENODATA ? "No address associated with hostname"
                                                : "Host not found, try again";
    return "Host or domain name not found. Name service error for name=" + name + " type=" + type + ": " + what;
}

// One find_targets call: MX lookup, then the addresses of each host in turn.
struct Lookup {
    Resolver::Impl* impl;
    mail::Nexthop nexthop;
    size_t max_addresses;
    std::function<void(TargetList)> done;
    mail::InetProtocols protocols;
    std::vector<MxRecord> hosts;
    size_t next_host = 0;
    TargetList result;
    std::string last_error;
    std::string last_dsn;

    bool usable(int family) const {
        return (family == AF_INET && protocols.ipv4) || (family == AF_INET6 && protocols.ipv6);
    }

    void finish() {
        if (result.targets.empty() && result.error.empty()) {
            result.error = last_error.empty() ? "no usable address for " + nexthop.host : last_error;
            result.dsn = last_dsn.empty() ? "4.4.3" : last_dsn;
        }
        auto cb = std::move(done);
        TargetList out = std::move(result);
        delete this;
        cb(std::move(out));
    }

    void resolve_next_host() {
        if (next_host >= hosts.size() || result.targets.size() >= max_addresses) return finish();
        const MxRecord& mx = hosts[next_host++];
        if (auto literal = literal_target(mx.host, nexthop.port)) {
            if (usable(literal->addr.ss_family)) {
                result.targets.push_back(std::move(*literal));
            } else {
                last_error = "no usable address for " + mx.host + ": IPv" +
                             (literal->addr.ss_family == AF_INET6 ? "6" : "4") +
                             " is not in inet_protocols = " + mail::inet_protocols_text(protocols);
                last_dsn = "4.4.4";
            }
            return resolve_next_host();
        }
        ares_addrinfo_hints hints{};
        // Only the records of the families in use (A, AAAA or both).
        hints.ai_family = protocols.ipv4 && protocols.ipv6 ? AF_UNSPEC : protocols.ipv4 ? AF_INET : AF_INET6;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = ARES_AI_NUMERICSERV;
        std::string port = std::to_string(nexthop.port);
        // The callback may run at once (a name from /etc/hosts) and finish,
        // deleting this: nothing of this is touched after the call.
        server::DnsChannel* dns = impl->dns.get();
        ares_getaddrinfo(dns->native(), mx.host.c_str(), port.c_str(), &hints, on_addrinfo, this);
        dns->rearm();
    }

    static void on_addrinfo(void* arg, int status, int, ares_addrinfo* ai) {
        auto* self = static_cast<Lookup*>(arg);
        const std::string& host = self->hosts[self->next_host - 1].host;
        if (status != ARES_SUCCESS) {
            self->last_error = describe(status, host, "A");
            // A name that does not exist bounces when it is the only host
            // (no MX, or [host]); one missing MX host among others is skipped.
            bool missing = permanent(status) || status == ARES_ENODATA;
            self->last_dsn = missing && self->hosts.size() == 1 ? "5.4.4" : "4.4.3";
            if (status == ARES_EDESTRUCTION) return;
        } else {
            // IPv4 first: loopback tests and most peers; IPv6 next.
            for (int family : {AF_INET, AF_INET6})
                for (auto* n = ai->nodes; n != nullptr; n = n->ai_next) {
                    if (n->ai_family != family || !self->usable(family) ||
                        self->result.targets.size() >= self->max_addresses)
                        continue;
                    Target t;
                    t.host = host;
                    std::memcpy(&t.addr, n->ai_addr, std::min<size_t>(n->ai_addrlen, sizeof t.addr));
                    t.addr_len = n->ai_addrlen;
                    self->result.targets.push_back(t);
                }
            ares_freeaddrinfo(ai);
        }
        self->resolve_next_host();
    }

    static void on_mx(void* arg, int status, int, unsigned char* abuf, int alen) {
        auto* self = static_cast<Lookup*>(arg);
        if (status == ARES_EDESTRUCTION) return;
        if (status == ARES_ENODATA) {
            // No MX: the domain itself (RFC 5321 5.1).
            self->hosts.push_back({0, self->nexthop.host});
            return self->resolve_next_host();
        }
        if (status != ARES_SUCCESS) {
            self->result.error = describe(status, self->nexthop.host, "MX");
            self->result.dsn = permanent(status) ? "5.4.4" : "4.4.3";
            return self->finish();
        }
        ares_mx_reply* mx = nullptr;
        int parsed = ares_parse_mx_reply(abuf, alen, &mx);
        if (parsed != ARES_SUCCESS) {
            self->result.error = "malformed MX reply for " + self->nexthop.host + ": " + ares_strerror(parsed);
            self->result.dsn = "4.4.3";
            return self->finish();
        }
        std::vector<MxRecord> records;
        for (auto* r = mx; r != nullptr; r = r->next) {
            std::string host = r->host ? r->host : "";
            while (!host.empty() && host.back() == '.') host.pop_back();
            records.push_back({r->priority, host});
        }
        ares_free_data(mx);
        if (records.size() == 1 && records[0].host.empty()) {
            self->result.error = "Domain " + self->nexthop.host + " does not accept mail (nullMX)";
            self->result.dsn = "5.1.10";
            return self->finish();
        }
        std::mt19937 rng(std::random_device{}());
        for (auto& r : order_mx(std::move(records), rng))
            if (!r.host.empty()) self->hosts.push_back(std::move(r));
        if (self->hosts.empty()) {
            self->result.error = "no usable MX host for " + self->nexthop.host;
            self->result.dsn = "4.4.3";
            return self->finish();
        }
        self->resolve_next_host();
    }
};

}  // namespace

void Resolver::find_targets(const mail::Nexthop& nexthop, size_t max_addresses, std::function<void(TargetList)> done,
                            mail::InetProtocols protocols) {
    auto* lookup = new Lookup{impl_.get(), nexthop, max_addresses, std::move(done), protocols, {}, 0, {}, {}, {}};
    if (!nexthop.use_mx) {
        lookup->hosts.push_back({0, nexthop.host});
        return lookup->resolve_next_host();
    }
    ares_query(impl_->dns->native(), nexthop.host.c_str(), ns_c_in, ns_t_mx, Lookup::on_mx, lookup);
    impl_->dns->rearm();
}

}  // namespace kurir::smtp
