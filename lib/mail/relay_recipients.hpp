// Recipient validation for relay_domains, as Postfix's smtpd does it with
// relay_recipient_maps: a recipient exists when a table knows the address,
// the address without its recipient_delimiter extension, or "@domain". An
// empty list turns validation off (every recipient of a relay domain
// exists). A table that is missing or fails to answer is an error, never
// "unknown": the caller defers (451 4.3.0).
#pragma once

#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "util/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

std::vector<std::string> relay_recipient_keys(std::string_view recipient, std::string_view delimiters);

class RelayRecipients {
public:
    static util::Result<RelayRecipients> from_config(const Config& cfg);
    bool enabled() const { return enabled_; }
    util::Result<bool> exists(const Config& cfg, std::string_view recipient) const;

private:
    bool enabled_ = false;
    mutable WatchedMaps tables_{"relay_recipient_maps"};
};

}  // namespace kurir::mail
