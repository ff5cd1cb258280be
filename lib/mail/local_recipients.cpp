#include "mail/local_recipients.hpp"

#include "mail/address.hpp"

#include <algorithm>

namespace kurir::mail {
namespace {

constexpr std::string_view kPasswd = "unix:passwd.byname";

// "user+ext" -> "user" for the first delimiter character found.
std::string without_extension(std::string_view local, std::string_view delimiters) {
    if (delimiters.empty()) return std::string(local);
    size_t at = local.find_first_of(delimiters);
    // Postfix leaves "owner-" and "-request" style names whole; a delimiter
    // at the start is no extension either.
    if (at == std::string_view::npos || at == 0) return std::string(local);
    return std::string(local.substr(0, at));
}

}  // namespace

std::vector<std::string> local_recipient_keys(std::string_view recipient, std::string_view delimiters) {
    std::string address = lowercase(recipient);
    std::string local(local_part(address));
    std::string domain(domain_part(address));
    std::string bare = without_extension(local, delimiters);
    std::vector<std::string> keys;
    auto add = [&](std::string k) {
        if (!k.empty() && std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(std::move(k));
    };
    if (!domain.empty()) {
        add(address);
        add(bare + "@" + domain);
    }
    add(local);
    add(bare);
    return keys;
}

bool is_postmaster(std::string_view recipient) { return lowercase(local_part(recipient)) == "postmaster"; }

util::Result<LocalRecipients> LocalRecipients::from_config(const Config& cfg, PasswdLookup passwd) {
    LocalRecipients r;
    std::vector<std::string> tables;
    for (const auto& entry : cfg.list("local_recipient_maps")) {
        if (entry == kPasswd) {
            r.use_passwd_ = true;
            continue;
        }
        auto spec = parse_map_spec(entry);
        if (!spec) return util::fail("local_recipient_maps: " + spec.error().text);
        tables.push_back(entry);
    }
    r.enabled_ = r.use_passwd_ || !tables.empty();
    r.passwd_ = std::move(passwd);
    r.tables_ = WatchedMaps("local_recipient_maps", std::move(tables));
    return r;
}

util::Result<bool> LocalRecipients::exists(const Config& cfg, std::string_view recipient) const {
    if (is_postmaster(recipient)) return true;
    auto keys = local_recipient_keys(recipient, cfg.str("recipient_delimiter"));
    if (use_passwd_ && !keys.empty() && passwd_(keys.back())) return true;
    const MapList& maps = tables_.get(cfg);
    if (!maps.warnings().empty()) return util::fail("local_recipient_maps: " + maps.warnings().front());
    // The first key is the whole address (or the name without a domain);
    // the rest are partial keys, which regexp:/pcre: tables do not see.
    for (size_t i = 0; i < keys.size(); ++i) {
        auto found = i == 0 ? maps.lookup(keys[i]) : maps.lookup_partial(keys[i]);
        if (!found) return util::fail("local_recipient_maps: " + found.error().text);
        if (*found) return true;
    }
    return false;
}

}  // namespace kurir::mail
