#include "mail/inet_interfaces.hpp"

#include "mail/address.hpp"
#include "mail/config.hpp"
#include "util/log.hpp"
#include "util/socket.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <tuple>

namespace kurir::mail {
namespace {

// 4 or 6 for an address literal, 0 for anything else.
int family_of(const std::string& host) {
    unsigned char buf[16];
    if (::inet_pton(AF_INET, host.c_str(), buf) == 1) return 4;
    if (::inet_pton(AF_INET6, host.c_str(), buf) == 1) return 6;
    return 0;
}

bool wanted(int family, InetProtocols p) { return (family == 4 && p.ipv4) || (family == 6 && p.ipv6); }

}  // namespace

util::Result<InetProtocols> parse_inet_protocols(std::string_view value) {
    InetProtocols p{false, false};
    auto list = split_list(value);
    if (list.empty()) return util::fail("inet_protocols: empty (want ipv4, ipv6 or all)");
    for (const auto& w : list) {
        std::string word = lowercase(w);
        if (word == "all") {
            p.ipv4 = p.ipv6 = true;
        } else if (word == "ipv4") {
            p.ipv4 = true;
        } else if (word == "ipv6") {
            p.ipv6 = true;
        } else {
            return util::fail("inet_protocols: unknown protocol \"" + w + "\" (want ipv4, ipv6 or all)");
        }
    }
    return p;
}

std::string inet_protocols_text(InetProtocols p) {
    if (p.ipv4 && p.ipv6) return "ipv4, ipv6";
    return p.ipv4 ? "ipv4" : p.ipv6 ? "ipv6" : "none";
}

util::Result<std::vector<std::string>> inet_listen_hosts(std::string_view inet_interfaces, InetProtocols protocols,
                                                         const HostResolver& resolve) {
    auto list = split_list(inet_interfaces);
    std::vector<std::string> out;
    auto add = [&](const std::string& host) {
        if (std::find(out.begin(), out.end(), host) == out.end()) out.push_back(host);
    };
    if (list.size() == 1 && (lowercase(list[0]) == "all" || lowercase(list[0]) == "loopback-only")) {
        bool all = lowercase(list[0]) == "all";
        if (protocols.ipv4) add(all ? "0.0.0.0" : "127.0.0.1");
        if (protocols.ipv6) add(all ? "::" : "::1");
    } else {
        if (list.empty()) return util::fail("inet_interfaces: empty (want all, loopback-only or addresses)");
        for (auto host : list) {
            std::string word = lowercase(host);
            if (word == "all" || word == "loopback-only")
                return util::fail("inet_interfaces: \"" + host + "\" must be the only value");
            if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
            if (int family = family_of(host); family != 0) {
                if (!wanted(family, protocols))
                    return util::fail("inet_interfaces: " + host + ": IPv" + std::to_string(family) +
                                      " is not in inet_protocols = " + inet_protocols_text(protocols));
                add(host);
                continue;
            }
            auto addrs = resolve(host);
            if (!addrs) return util::fail("inet_interfaces: " + addrs.error().text);
            bool any = false;
            for (const auto& a : *addrs)
                if (wanted(family_of(a), protocols)) {
                    add(a);
                    any = true;
                }
            if (!any)
                return util::fail("inet_interfaces: " + host +
                                  ": no address for inet_protocols = " + inet_protocols_text(protocols));
        }
    }
    if (out.empty())
        return util::fail("inet_interfaces: no address for inet_protocols = " + inet_protocols_text(protocols));
    return out;
}

bool inet_service_has_host(std::string_view service_name) {
    return service_name.find(':') != std::string_view::npos || service_name.starts_with('[');
}

std::vector<std::string> inet_listen_addresses(std::string_view service_name, const std::vector<std::string>& hosts) {
    if (inet_service_has_host(service_name)) return {std::string(service_name)};
    std::vector<std::string> out;
    for (const auto& h : hosts)
        out.push_back(h.find(':') != std::string::npos ? "[" + h + "]:" + std::string(service_name)
                                                       : h + ":" + std::string(service_name));
    return out;
}

util::Result<BindAddresses> smtp_bind_addresses(std::string_view bind4, std::string_view bind6,
                                                const std::vector<std::string>& listen_hosts) {
    BindAddresses out;
    for (auto [value, name, family, dest] : {std::tuple{bind4, "smtp_bind_address", 4, &out.ipv4},
                                             std::tuple{bind6, "smtp_bind_address6", 6, &out.ipv6}}) {
        std::string v(value);
        if (!v.empty()) {
            if (family_of(v) != family)
                return util::fail(std::string(name) + " = " + v + ": not a numeric IPv" + std::to_string(family) +
                                  " address");
            *dest = v == "0.0.0.0" || v == "::" ? "" : v;
            continue;
        }
        std::vector<std::string> mine;
        for (const auto& h : listen_hosts)
            if (family_of(h) == family) mine.push_back(h);
        if (mine.size() != 1) continue;
        const std::string& h = mine.front();
        bool loopback = family == 4 ? h.starts_with("127.") : h == "::1";
        bool wildcard = h == "0.0.0.0" || h == "::";
        if (!loopback && !wildcard) *dest = h;
    }
    return out;
}

util::Result<InetProtocols> configured_inet_protocols(const Config& cfg) {
    auto p = parse_inet_protocols(cfg.str("inet_protocols"));
    if (!p) return p;
    InetProtocols asked = *p;
    auto check = [](bool& on, int family, std::string_view name) {
        if (!on) return;
        if (auto ok = util::family_supported(family); !ok) {
            // The error reads "IPv6: <why>"; Postfix's warning says it its way.
            std::string why = ok.error().text.substr(ok.error().text.find(": ") + 2);
            util::msg_warn("inet_protocols: {} support is disabled: {}", name, why);
            on = false;
        }
    };
    check(p->ipv6, AF_INET6, "IPv6");
    check(p->ipv4, AF_INET, "IPv4");
    if (!p->ipv4 && !p->ipv6)
        return util::fail("inet_protocols = " + cfg.str("inet_protocols") + ": no protocol this system supports");
    if (*p != asked) util::msg_warn("inet_protocols: configuring for {} support only", p->ipv4 ? "IPv4" : "IPv6");
    return p;
}

util::Result<std::vector<std::string>> configured_listen_hosts(const Config& cfg) {
    auto p = configured_inet_protocols(cfg);
    if (!p) return std::unexpected(p.error());
    return inet_listen_hosts(cfg.str("inet_interfaces"), *p, util::host_addresses);
}

util::Result<BindAddresses> configured_smtp_bind_addresses(const Config& cfg) {
    std::vector<std::string> hosts;
    if (cfg.str("smtp_bind_address").empty() || cfg.str("smtp_bind_address6").empty()) {
        auto p = parse_inet_protocols(cfg.str("inet_protocols"));
        if (!p) return std::unexpected(p.error());
        auto h = inet_listen_hosts(cfg.str("inet_interfaces"), *p, util::host_addresses);
        if (!h) return std::unexpected(h.error());
        hosts = std::move(*h);
    }
    return smtp_bind_addresses(cfg.str("smtp_bind_address"), cfg.str("smtp_bind_address6"), hosts);
}

}  // namespace kurir::mail
