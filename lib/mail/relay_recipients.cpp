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

util::Result<RecipientTable> RecipientTable::from_config(const Config& cfg, const std::string& parameter) {
    RecipientTable r;
    for (const auto& entry : cfg.list(parameter))
        if (auto spec = parse_map_spec(entry); !spec) return util::fail(parameter + ": " + spec.error().text);
    r.enabled_ = !cfg.list(parameter).empty();
    r.parameter_ = parameter;
    r.tables_ = WatchedMaps(parameter);
    return r;
}

util::Result<bool> RecipientTable::exists(const Config& cfg, std::string_view recipient) const {
    const MapList& maps = tables_.get(cfg);
    if (!maps.warnings().empty()) return util::fail(parameter_ + ": " + maps.warnings().front());
    // The whole address, then partial keys, which regexp:/pcre: tables do not see.
    auto keys = relay_recipient_keys(recipient, cfg.str("recipient_delimiter"));
    for (size_t i = 0; i < keys.size(); ++i) {
        auto found = i == 0 ? maps.lookup(keys[i]) : maps.lookup_partial(keys[i]);
        if (!found) return util::fail(parameter_ + ": " + found.error().text);
        if (*found) return true;
    }
    return false;
}

}  // namespace kurir::mail
