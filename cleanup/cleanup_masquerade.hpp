// masquerade_domains in cleanup, as Postfix's cleanup_masq.c: an address
// in a subdomain of a listed domain becomes an address in that domain
// (user@host.sub.example.com -> user@example.com with "example.com"); the
// list is searched in order and its first domain that is the address's
// domain or a parent of it decides, a "!domain" entry keeping the address
// as it is. Users named in masquerade_exceptions are never masqueraded.
// Applied to the classes masquerade_classes names (Postfix's default:
// envelope_sender, header_sender, header_recipient).
#pragma once

#include "cleanup/cleanup_canonical.hpp"
#include "mail/config.hpp"
#include "util/result.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::cleanup {

// The masqueraded address (address itself when nothing applies).
std::string masquerade_address(std::string_view address, const std::vector<std::string>& domains,
                               const std::vector<std::string>& exceptions);

using Masquerade = std::function<util::Result<std::string>(std::string_view address, AddressClass cls)>;
// masquerade_domains, masquerade_classes and masquerade_exceptions as
// configured; nothing when masquerade_domains is empty.
Masquerade masquerade_from_config(const mail::Config& cfg);

}  // namespace kurir::cleanup
