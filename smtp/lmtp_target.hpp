// lmtp's Unix-domain destinations (lmtp:unix:private/dovecot-lmtp) as a
// connection target. The target is named myhostname, as Postfix's lmtp
// names it, so that its log shows relay=myhostname[private/dovecot-lmtp].
#pragma once

#include "smtp/smtp_dns.hpp"

#include <optional>
#include <string>

namespace kurir::smtp {

// nullopt when the path does not fit a sockaddr_un.
std::optional<Target> unix_target(const std::string& path, const std::string& hostname);

}  // namespace kurir::smtp
