// Recipient validation for local domains, as Postfix's smtpd does it with
// local_recipient_maps: a recipient exists when some table of the list
// knows it. "unix:passwd.byname" is the system's passwd; other entries are
// tables (hash:, btree:), so "$alias_maps" in the list makes every alias a
// recipient. An empty list turns validation off (any local part exists, as
// in an instance made by `kurir init`). postmaster is always accepted
// (RFC 5321 4.5.1), whatever the tables say.
//
// A table that is missing or fails to answer is an error, never "unknown":
// the caller defers (451 4.3.0) rather than refuse a real user.
#pragma once

#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "util/result.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

// The keys a table is searched by, in order: the address, the address
// without its recipient_delimiter extension, the local part, the local part
// without extension (all lowercased, duplicates left out).
std::vector<std::string> local_recipient_keys(std::string_view recipient, std::string_view delimiters);

// postmaster, in any case, with or without a domain.
bool is_postmaster(std::string_view recipient);

class LocalRecipients {
public:
    // passwd: is this (lowercased, extension-free) local part an account?
    using PasswdLookup = std::function<bool(const std::string& user)>;

    static util::Result<LocalRecipients> from_config(const Config& cfg, PasswdLookup passwd);

    bool enabled() const { return enabled_; }
    // Whether the local recipient exists (only meaningful when enabled).
    util::Result<bool> exists(const Config& cfg, std::string_view recipient) const;

private:
    bool enabled_ = false;
    bool use_passwd_ = false;
    PasswdLookup passwd_;
    mutable WatchedMaps tables_{"local_recipient_maps", {}};
};

}  // namespace kurir::mail
