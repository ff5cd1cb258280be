#include "mail/relay_recipients.hpp"

#include "mail/address.hpp"

#include <algorithm>

namespace kurir::mail {

std::vector<std::string> relay_recipient_keys(std::string_view recipient, std::string_view delimiters) {
    std::string address = lowercase(recipient);
    std::string local(local_part(address));
    std::string domain(domain_part(address));
    std::vector<std::string> keys{address};
    if (!delimiters.empty()) {
        // A delimiter at the start is no extension (Postfix's "-request" rule).
        size_t at = local.find_first_of(delimiters);
        if (at != std::string::npos && at > 0) {
            std::string bare = local.substr(0, at) + (domain.empty() ? "" : "@" + domain);
            if (std::find(keys.begin(), keys.end(), bare) == keys.end()) keys.push_back(std::move(bare));
        }
    }
    if (!domain.empty()) keys.push_back("@" + domain);
    return keys;
}

util::Result<RelayRecipients> RelayRecipients::from_config(const Config& cfg) {
    RelayRecipients r;
    for (const auto& entry : cfg.list("relay_recipient_maps"))
        if (auto spec = parse_map_spec(entry); !spec) return util::fail("relay_recipient_maps: " + spec.error().text);
    r.enabled_ = !cfg.list("relay_recipient_maps").empty();
    return r;
}

util::Result<bool> RelayRecipients::exists(const Config& cfg, std::string_view recipient) const {
    const MapList& maps = tables_.get(cfg);
    if (!maps.warnings().empty()) return util::fail("relay_recipient_maps: " + maps.warnings().front());
    for (const auto& key : relay_recipient_keys(recipient, cfg.str("recipient_delimiter"))) {
        auto found = maps.lookup(key);
        if (!found) return util::fail("relay_recipient_maps: " + found.error().text);
        if (*found) return true;
    }
    return false;
}

}  // namespace kurir::mail
