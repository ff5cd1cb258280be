#include "local/local_routing.hpp"

#include "mail/address.hpp"
#include "mail/nexthop.hpp"
#include "mail/resolve.hpp"

#include <map>

namespace kurir::local {

namespace {

// A transport:nexthop value from a parameter or a table, checked as
// transport_maps values are.
util::Result<MailboxRoute> transport_route(std::string_view where, const std::string& value) {
    auto spec = mail::parse_transport_spec(value);
    if (!spec || spec->transport.empty()) {
        std::string why = spec ? "no transport name" : spec.error().text;
        return util::fail(std::string(where) + ": \"" + value + "\": " + why);
    }
    return MailboxRoute{MailboxRoute::Kind::transport, value};
}

// A table that could not be opened defers, as Postfix's maps_find does.
util::Result<std::optional<std::string>> find(const mail::MapList& maps, const std::string& key) {
    if (!maps.warnings().empty()) return util::fail(maps.warnings().front());
    return maps.lookup(key);
}

}  // namespace

util::Result<MailboxRoute> route_mailbox(const mail::Config& cfg, const RoutingTables& tables,
                                         std::string_view recipient, bool known_user) {
    std::string user = mail::mailbox_user(cfg, recipient);
    auto mapped = find(tables.mailbox_transport_maps, user);
    if (!mapped) return util::fail("mailbox_transport_maps: " + mapped.error().text);
    if (*mapped) return transport_route("mailbox_transport_maps", **mapped);
    if (std::string t = cfg.str("mailbox_transport"); !t.empty()) return transport_route("mailbox_transport", t);
    if (known_user) return MailboxRoute{};
    auto fallback = find(tables.fallback_transport_maps, user);
    if (!fallback) return util::fail("fallback_transport_maps: " + fallback.error().text);
    if (*fallback) return transport_route("fallback_transport_maps", **fallback);
    if (std::string t = cfg.str("fallback_transport"); !t.empty()) return transport_route("fallback_transport", t);
    // Taken raw, as Postfix's local does: $user and the like are local's
    // names, not main.cf's.
    if (std::string relay(cfg.raw_value("luser_relay").value_or("")); !relay.empty()) {
        auto expanded = expand_local_macros(relay, cfg, recipient);
        if (!expanded) return util::fail("luser_relay: " + expanded.error().text);
        if (expanded->empty()) return util::fail("luser_relay: \"" + relay + "\" expands to nothing");
        return MailboxRoute{MailboxRoute::Kind::luser_relay, *expanded};
    }
    return MailboxRoute{};
}

util::Result<std::string> expand_local_macros(std::string_view text, const mail::Config& cfg,
                                              std::string_view recipient) {
    std::string local(mail::local_part(recipient));
    std::string delims = cfg.str("recipient_delimiter");
    size_t cut = delims.empty() ? std::string::npos : local.find_first_of(delims);
    std::map<std::string, std::string, std::less<>> names{
        {"user", mail::mailbox_user(cfg, recipient)},
        {"local", local},
        {"extension", cut == std::string::npos || cut == 0 ? "" : local.substr(cut + 1)},
        {"domain", std::string(mail::domain_part(recipient))},
        {"recipient", std::string(recipient)},
        {"recipient_delimiter", cut == std::string::npos || cut == 0 ? "" : local.substr(cut, 1)},
    };
    auto value_of = [&](std::string_view name) -> util::Result<std::string> {
        auto it = names.find(name);
        if (it == names.end()) return util::fail("unknown macro $" + std::string(name));
        return it->second;
    };
    auto name_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    };
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '$') {
            out += text[i];
            continue;
        }
        if (i + 1 < text.size() && text[i + 1] == '$') {
            out += '$';
            ++i;
            continue;
        }
        if (i + 1 < text.size() && (text[i + 1] == '{' || text[i + 1] == '(')) {
            char close = text[i + 1] == '{' ? '}' : ')';
            size_t end = text.find(close, i + 2);
            if (end == std::string_view::npos)
                return util::fail("missing '" + std::string(1, close) + "' in \"" + std::string(text) + "\"");
            std::string_view inner = text.substr(i + 2, end - i - 2);
            size_t op = inner.find_first_of("?:");
            auto value = value_of(inner.substr(0, op));
            if (!value) return value;
            if (op == std::string_view::npos)
                out += *value;
            else if ((inner[op] == '?') == !value->empty())
                out += inner.substr(op + 1);
            i = end;
            continue;
        }
        size_t end = i + 1;
        while (end < text.size() && name_char(text[end])) ++end;
        if (end == i + 1) return util::fail("bad $ in \"" + std::string(text) + "\"");
        auto value = value_of(text.substr(i + 1, end - i - 1));
        if (!value) return value;
        out += *value;
        i = end - 1;
    }
    return out;
}

}  // namespace kurir::local
