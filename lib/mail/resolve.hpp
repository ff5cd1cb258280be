// Address rewriting and resolution as pure functions over the configuration:
// what trivial-rewrite serves, and what smtpd checks recipients against.
#pragma once

#include "mail/clients.hpp"
#include "mail/config.hpp"

#include <string>
#include <string_view>

namespace kurir::mail {

// "user" -> "user@$myorigin"; "<>" (empty) stays empty.
std::string canonical_address(const Config& cfg, std::string_view address);
// local for $mydestination, otherwise smtp to $relayhost or the domain.
Resolved resolve_address(const Config& cfg, std::string_view address);
bool is_local_domain(const Config& cfg, std::string_view domain);
// The mailbox user of a local recipient: local part, lowercased, with the
// recipient_delimiter extension removed (user+ext -> user).
std::string mailbox_user(const Config& cfg, std::string_view recipient);

}  // namespace kurir::mail
