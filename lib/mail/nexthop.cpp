#include "mail/nexthop.hpp"

#include "mail/address.hpp"
#include "mail/lmtp_nexthop.hpp"

#include <charconv>

namespace kurir::mail {

namespace {

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

util::Result<int> parse_port(std::string_view text) {
    if (text == "smtp") return 25;
    int port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535)
        return util::fail("bad port \"" + std::string(text) + "\"");
    return port;
}

}  // namespace

util::Result<Nexthop> parse_nexthop(std::string_view text, int default_port) {
    Nexthop out;
    out.port = default_port;
    std::string_view rest;
    std::string_view host;
    if (text.starts_with('[')) {
        size_t close = text.find(']');
        if (close == std::string_view::npos) return util::fail("nexthop \"" + std::string(text) + "\": missing ]");
        host = text.substr(1, close - 1);
        if (host.size() > 5 && lowercase(host.substr(0, 5)) == "ipv6:") host.remove_prefix(5);
        rest = text.substr(close + 1);
        out.use_mx = false;
        bool is_ipv6 = host.find(':') != std::string_view::npos;
        for (char c : host)
            if (!host_char(c) && !(is_ipv6 && c == ':'))
                return util::fail("nexthop \"" + std::string(text) + "\": bad character in host");
    } else {
        size_t colon = text.find(':');
        host = text.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
        for (char c : host)
            if (!host_char(c)) return util::fail("nexthop \"" + std::string(text) + "\": bad character in host");
    }
    if (host.empty() || host.size() > 255) return util::fail("nexthop \"" + std::string(text) + "\": bad host");
    if (!rest.empty()) {
        if (rest.front() != ':') return util::fail("nexthop \"" + std::string(text) + "\": junk after host");
        auto port = parse_port(rest.substr(1));
        if (!port) return util::fail("nexthop \"" + std::string(text) + "\": " + port.error().text);
        out.port = *port;
    }
    out.host = lowercase(host);
    while (!out.host.empty() && out.host.back() == '.') out.host.pop_back();
    if (out.host.empty()) return util::fail("nexthop \"" + std::string(text) + "\": bad host");
    return out;
}

bool free_text_transport(std::string_view transport) {
    return transport == "error" || transport == "retry" || transport == "discard";
}

util::Result<TransportSpec> parse_transport_spec(std::string_view value) {
    size_t colon = value.find(':');
    TransportSpec out;
    out.transport = std::string(value.substr(0, colon));
    if (colon != std::string_view::npos) out.nexthop = std::string(value.substr(colon + 1));
    for (char c : out.transport)
        if (!host_char(c)) return util::fail("transport \"" + std::string(value) + "\": bad transport name");
    bool free_text = free_text_transport(out.transport);
    if (!out.nexthop.empty() && !free_text) {
        // lmtp:unix:/path, lmtp:inet:host:port (mail/lmtp_nexthop.hpp).
        if (out.transport == "lmtp" || lmtp_socket_nexthop(out.nexthop)) {
            if (auto n = parse_lmtp_nexthop(out.nexthop); !n) return util::fail(n.error().text);
        } else if (auto n = parse_nexthop(out.nexthop); !n) {
            return util::fail(n.error().text);
        }
    }
    return out;
}

}  // namespace kurir::mail
