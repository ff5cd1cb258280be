#include "mail/local_domains.hpp"

#include "mail/address.hpp"
#include "mail/domain_list.hpp"

#include <algorithm>

namespace kurir::mail {

util::Result<bool> local_domain_matches(const Config& cfg, std::string_view domain) {
    std::string d = lowercase(domain);
    auto items = cfg.list("mydestination");
    bool plain = std::none_of(items.begin(), items.end(), [](const std::string& i) {
        return i.find(':') != std::string::npos || i.starts_with("/") || i.starts_with("!") || i.starts_with(".");
    });
    if (plain) return std::any_of(items.begin(), items.end(), [&](const std::string& i) { return lowercase(i) == d; });
    // The tables stay open, and are reopened when rebuilt, for the life of
    // the process (daemons are single-threaded).
    static WatchedDomainList list("mydestination", false);
    auto l = list.get(cfg);
    if (!l) return std::unexpected(l.error());
    return (*l)->matches(cfg, d);
}

}  // namespace kurir::mail
