// always_bcc, sender_bcc_maps and recipient_bcc_maps in cleanup, as
// Postfix: blind copies are envelope recipients only (no header names
// them), added to mail from clients and sendmail (not to bounces or mail
// local forwards); the sender is looked up after canonical mapping, each
// recipient before virtual aliasing, and the copies' addresses are
// virtual-aliased like any recipient. A table that cannot answer defers.
#pragma once

#include "cleanup/cleanup_virtual_alias.hpp"
#include "mail/config.hpp"

#include <string>

namespace kurir::cleanup {

// The tables of sender_bcc_maps or recipient_bcc_maps; nothing when empty.
AliasLookup bcc_lookup(const mail::Config& cfg, const std::string& parameter);

}  // namespace kurir::cleanup
