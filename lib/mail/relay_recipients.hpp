// Recipient validation for relay_domains and virtual_mailbox_domains, as
// Postfix's smtpd does it with relay_recipient_maps and
// virtual_mailbox_maps: a recipient exists when a table knows the address,
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

class RecipientTable {
public:
    // parameter: relay_recipient_maps or virtual_mailbox_maps.
    static util::Result<RecipientTable> from_config(const Config& cfg, const std::string& parameter);
    bool enabled() const { return enabled_; }
    util::Result<bool> exists(const Config& cfg, std::string_view recipient) const;

private:
    bool enabled_ = false;
    std::string parameter_;
    mutable WatchedMaps tables_{""};
};

}  // namespace kurir::mail
