#include "mail/address_map.hpp"

#include "mail/address.hpp"
#include "mail/resolve.hpp"

namespace kurir::mail {

std::vector<AddressKey> address_map_keys(std::string_view address, std::string_view delimiters,
                                         bool domain_is_local) {
    std::string lower = lowercase(address);
    std::string local(local_part(lower));
    std::string domain(domain_part(lower));
    std::string bare;  // the local part without its extension, when it has one
    if (!delimiters.empty()) {
        // A delimiter at the start is no extension (Postfix's "-request" rule).
        size_t at = local.find_first_of(delimiters);
        if (at != std::string::npos && at > 0) bare = local.substr(0, at);
    }
    std::vector<AddressKey> keys;
    std::string at_domain = domain.empty() ? "" : "@" + domain;
    keys.push_back({local + at_domain, false, false});
    if (!bare.empty()) keys.push_back({bare + at_domain, true, true});
    if (domain_is_local || domain.empty()) {
        keys.push_back({local, true, false});
        if (!bare.empty()) keys.push_back({bare, true, true});
    }
    if (!domain.empty()) keys.push_back({at_domain, true, false});
    return keys;
}

std::vector<std::string> split_address_value(std::string_view value) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    auto done = [&] {
        if (cur.size() >= 2 && cur.front() == '<' && cur.back() == '>') cur = cur.substr(1, cur.size() - 2);
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
    };
    for (size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        if (c == '"') quoted = !quoted;
        if (!quoted && (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            done();
            continue;
        }
        if (quoted && c == '\\' && i + 1 < value.size()) cur += value[i++];
        cur += c;
    }
    done();
    return out;
}

util::Result<std::optional<std::vector<std::string>>> address_map(const Config& cfg, const KeyLookup& lookup,
                                                                   std::string_view address) {
    std::string local(local_part(address));
    std::string domain(domain_part(address));
    std::string delimiters = cfg.str("recipient_delimiter");
    bool is_local = !domain.empty() && is_local_domain(cfg, domain);
    for (const auto& k : address_map_keys(address, delimiters, is_local)) {
        auto found = lookup(k.key, k.partial);
        if (!found) return std::unexpected(found.error());
        if (!*found) continue;
        std::string extension;  // "+ext", put back into each result
        if (k.without_extension) {
            size_t at = local.find_first_of(delimiters);
            extension = local.substr(at);
        }
        std::vector<std::string> out;
        for (auto a : split_address_value(**found)) {
            if (a.front() == '@') a = local + a;  // "@other": the same user at another domain
            else if (!extension.empty()) {
                size_t at = a.rfind('@');
                a.insert(at == std::string::npos ? a.size() : at, extension);
            }
            out.push_back(std::move(a));
        }
        return out;
    }
    return std::nullopt;
}

util::Result<std::optional<std::vector<std::string>>> AddressMapTable::find(const Config& cfg,
                                                                           std::string_view address) {
    if (!enabled(cfg)) return std::nullopt;
    const MapList& maps = tables_.get(cfg);
    if (!maps.warnings().empty()) return util::fail(parameter_ + ": " + maps.warnings().front());
    auto found = address_map(
        cfg, [&](std::string_view key, bool partial) { return partial ? maps.lookup_partial(key) : maps.lookup(key); },
        address);
    if (!found) return util::fail(parameter_ + ": " + found.error().text);
    return found;
}

}  // namespace kurir::mail
