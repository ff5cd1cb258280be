#include "mail/resolve.hpp"

#include "mail/address.hpp"
#include "mail/local_domains.hpp"
#include "mail/nexthop.hpp"

namespace kurir::mail {

std::string canonical_address(const Config& cfg, std::string_view address) {
    if (address.empty()) return {};
    std::string out(address);
    if (domain_part(out).empty()) {
        if (!out.empty() && out.back() == '@') out.pop_back();
        if (cfg.boolean("append_at_myorigin")) out += "@" + cfg.str("myorigin");
    }
    while (!out.empty() && out.back() == '.') out.pop_back();
    // append_dot_mydomain (Postfix 3's default: no): user@host -> user@host.$mydomain.
    std::string_view domain = domain_part(out);
    if (!domain.empty() && domain.find('.') == std::string_view::npos && !domain.starts_with('[') &&
        cfg.boolean("append_dot_mydomain") && !cfg.str("mydomain").empty())
        out += "." + cfg.str("mydomain");
    return out;
}

bool is_local_domain(const Config& cfg, std::string_view domain) {
    auto local = local_domain_matches(cfg, domain);
    return local && *local;
}

std::string mailbox_user(const Config& cfg, std::string_view recipient) {
    std::string user = lowercase(local_part(recipient));
    std::string delims = cfg.str("recipient_delimiter");
    if (!delims.empty()) {
        size_t cut = user.find_first_of(delims);
        if (cut != std::string::npos && cut > 0) user.resize(cut);
    }
    return user;
}

namespace {

util::Result<std::optional<std::string>> transport_lookup(const MapList& maps, const std::string& rcpt) {
    std::string address = lowercase(rcpt);
    if (auto r = maps.lookup(address); !r || *r) return r;
    std::string domain(domain_part(address));
    if (domain.empty()) return std::nullopt;
    // The domain and its parents are partial keys: regexp:/pcre: tables
    // see the whole address (and "*") only, as in Postfix.
    if (auto r = maps.lookup_partial(domain); !r || *r) return r;
    for (size_t dot = domain.find('.'); dot != std::string::npos; dot = domain.find('.', dot + 1))
        if (auto r = maps.lookup_partial(domain.substr(dot)); !r || *r) return r;
    return maps.lookup("*");
}

}  // namespace

util::Result<Resolved> resolve_address(const Config& cfg, std::string_view address, const MapList* transport_maps,
                                       const DomainList* relay_domains, const DomainList* virtual_mailbox_domains,
                                       const DomainList* virtual_alias_domains, const std::string* relayhost_given) {
    std::string rcpt = canonical_address(cfg, address);
    std::string domain(domain_part(rcpt));
    Resolved out;
    auto local_or_error = local_domain_matches(cfg, domain);
    if (!local_or_error) return util::fail("mydestination: " + local_or_error.error().text);
    bool local = *local_or_error;
    util::Result<bool> alias = false, virt = false, relay = false;
    if (!local && virtual_alias_domains != nullptr) alias = virtual_alias_domains->matches(cfg, domain);
    if (!alias) return std::unexpected(alias.error());
    if (!local && !*alias && virtual_mailbox_domains != nullptr) virt = virtual_mailbox_domains->matches(cfg, domain);
    if (!virt) return std::unexpected(virt.error());
    if (!local && !*virt && relay_domains != nullptr) relay = relay_domains->matches(cfg, domain);
    if (!relay) return std::unexpected(relay.error());
    if (local) {
        out = {"local", cfg.str("myhostname"), rcpt, ""};
    } else if (*alias) {
        // As Postfix: no transport_maps entry changes it.
        return Resolved{"error", "5.1.1 User unknown in virtual alias table", rcpt, ""};
    } else if (*virt) {
        auto spec = parse_transport_spec(cfg.str("virtual_transport"));
        if (!spec) return util::fail("virtual_transport: " + spec.error().text);
        out = {spec->transport.empty() ? "virtual" : spec->transport,
               spec->nexthop.empty() ? lowercase(domain) : spec->nexthop, rcpt, ""};
    } else if (*relay) {
        auto spec = parse_transport_spec(cfg.str("relay_transport"));
        if (!spec) return util::fail("relay_transport: " + spec.error().text);
        std::string relayhost = relayhost_given ? *relayhost_given : cfg.str("relayhost");
        out = {spec->transport.empty() ? "relay" : spec->transport,
               !spec->nexthop.empty() ? spec->nexthop : !relayhost.empty() ? relayhost : lowercase(domain), rcpt, ""};
    } else {
        std::string relay = relayhost_given ? *relayhost_given : cfg.str("relayhost");
        out = {"smtp", relay.empty() ? lowercase(domain) : relay, rcpt, ""};
    }
    if (transport_maps == nullptr) return out;
    auto found = transport_lookup(*transport_maps, rcpt);
    if (!found) return util::fail("transport_maps: " + found.error().text);
    if (!*found) return out;
    auto spec = parse_transport_spec(**found);
    if (!spec) return util::fail("transport_maps entry for " + rcpt + ": " + spec.error().text);
    if (!spec->transport.empty()) out.transport = spec->transport;
    if (!spec->nexthop.empty()) out.nexthop = spec->nexthop;
    else if (free_text_transport(out.transport)) out.nexthop.clear();  // no text: the agent's default
    else if (!spec->transport.empty() && out.transport != "local") out.nexthop = lowercase(domain);
    return out;
}

}  // namespace kurir::mail
