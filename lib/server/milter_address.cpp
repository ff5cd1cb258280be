#include "server/milter_address.hpp"

#include "server/dns_channel.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>
#include <memory>

namespace kurir::server {

util::Result<MilterSpec> parse_milter_spec(std::string_view spec) {
    MilterSpec s;
    if (spec.starts_with("unix:") || spec.starts_with("local:")) {
        std::string path(spec.substr(spec.find(':') + 1));
        MilterAddress a;
        auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
        if (path.empty() || path.size() >= sizeof(un->sun_path)) return util::fail("bad socket path");
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, path.data(), path.size());
        a.length = static_cast<socklen_t>(sizeof(sa_family_t) + path.size() + 1);
        s.address = a;
        return s;
    }
    if (!spec.starts_with("inet:") && !spec.starts_with("inet6:")) return util::fail("want inet:host:port or unix:/path");
    std::string_view rest = spec.substr(spec.find(':') + 1);
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size())
        return util::fail("want inet:host:port");
    std::string_view port = rest.substr(colon + 1);
    unsigned number = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc() || end != port.data() + port.size() || number == 0 || number > 65535)
        return util::fail(fmt::format("bad port \"{}\"", port));
    s.port = static_cast<uint16_t>(number);
    s.host = std::string(rest.substr(0, colon));
    if (s.host.size() > 2 && s.host.front() == '[' && s.host.back() == ']') s.host = s.host.substr(1, s.host.size() - 2);
    MilterAddress a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (::inet_pton(AF_INET, s.host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(s.port);
        a.length = sizeof *v4;
        s.address = a;
    } else if (::inet_pton(AF_INET6, s.host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(s.port);
        a.length = sizeof *v6;
        s.address = a;
    }
    return s;
}

namespace {

struct Lookup {
    std::string host;
    std::function<void(util::Result<MilterAddress>)> done;
};

void on_addrinfo(void* arg, int status, int, ares_addrinfo* ai) {
    std::unique_ptr<Lookup> lookup(static_cast<Lookup*>(arg));
    if (status != ARES_SUCCESS)
        return lookup->done(util::fail(fmt::format("look up {}: {}", lookup->host, ares_strerror(status))));
    MilterAddress a;
    for (int family : {AF_INET, AF_INET6})
        for (auto* n = ai->nodes; n != nullptr && a.length == 0; n = n->ai_next)
            if (n->ai_family == family && n->ai_addrlen <= sizeof a.storage) {
                std::memcpy(&a.storage, n->ai_addr, n->ai_addrlen);
                a.length = n->ai_addrlen;
            }
    ares_freeaddrinfo(ai);
    if (a.length == 0) return lookup->done(util::fail(fmt::format("look up {}: no address", lookup->host)));
    lookup->done(a);
}

}  // namespace

void resolve_milter_host(DnsChannel& dns, const MilterSpec& spec,
                         std::function<void(util::Result<MilterAddress>)> done) {
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = ARES_AI_NUMERICSERV;
    std::string port = std::to_string(spec.port);
    ares_getaddrinfo(dns.native(), spec.host.c_str(), port.c_str(), &hints, on_addrinfo,
                     new Lookup{spec.host, std::move(done)});
    dns.rearm();
}

util::Result<MilterAddress> milter_address_within(std::string_view spec, const std::vector<std::string>& servers,
                                                  long timeout_ms) {
    auto parsed = parse_milter_spec(spec);
    if (!parsed) return std::unexpected(parsed.error());
    if (parsed->address) return *parsed->address;
    std::unique_ptr<event_base, decltype(&event_base_free)> base(event_base_new(), event_base_free);
    if (!base) return util::fail("event_base_new: out of memory");
    std::optional<util::Result<MilterAddress>> result;
    {
        auto dns = DnsChannel::create(base.get(), servers);
        if (!dns) return std::unexpected(dns.error());
        resolve_milter_host(**dns, *parsed, [&result](util::Result<MilterAddress> r) {
            if (!result) result = std::move(r);
        });
        timeval tv{timeout_ms / 1000, static_cast<suseconds_t>(timeout_ms % 1000 * 1000)};
        event_base_loopexit(base.get(), &tv);
        while (!result && !event_base_got_exit(base.get()))
            if (event_base_loop(base.get(), EVLOOP_ONCE) < 0) break;
        if (!result) result = util::fail(fmt::format("look up {}: timeout", parsed->host));
    }  // the channel goes before result: a lookup still pending hears that and is dropped
    return std::move(*result);
}

}  // namespace kurir::server
