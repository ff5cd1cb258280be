// Address rewriting and resolution as pure functions over the configuration:
// what trivial-rewrite serves, and what smtpd checks recipients against.
#pragma once

#include "mail/clients.hpp"
#include "mail/config.hpp"
#include "mail/domain_list.hpp"
#include "mail/maps.hpp"

#include <string>
#include <string_view>

namespace kurir::mail {

// "user" -> "user@$myorigin" (append_at_myorigin, default yes), and with
// append_dot_mydomain (default no, as Postfix 3) "user@host" ->
// "user@host.$mydomain"; "<>" (empty) stays empty.
std::string canonical_address(const Config& cfg, std::string_view address);
// transport_maps first (the address, its domain, then ".parent" domains),
// then local for $mydestination, error for virtual_alias_domains (an
// address cleanup's virtual_alias_maps did not rewrite: "User unknown in
// virtual alias table", 5.1.1), $virtual_transport for
// virtual_mailbox_domains, $relay_transport for relay_domains (its
// nexthop, else $relayhost, else the domain), otherwise smtp to $relayhost
// or the domain. A table entry may leave out the transport or the nexthop
// ("smtp:", ":[relay]"), which then come from the defaults. relayhost,
// when given, stands for $relayhost (the sender's relay from
// sender_dependent_relayhost_maps, mail/sender_relayhost.hpp). An error
// reading a table is an error (the caller defers), never a misroute.
util::Result<Resolved> resolve_address(const Config& cfg, std::string_view address,
                                       const MapList* transport_maps = nullptr,
                                       const DomainList* relay_domains = nullptr,
                                       const DomainList* virtual_mailbox_domains = nullptr,
                                       const DomainList* virtual_alias_domains = nullptr,
                                       const std::string* relayhost = nullptr);
// mydestination (mail/local_domains); a table that cannot answer is "no"
// here: callers that must defer use local_domain_matches.
bool is_local_domain(const Config& cfg, std::string_view domain);
// The mailbox user of a local recipient: local part, lowercased, with the
// recipient_delimiter extension removed (user+ext -> user).
std::string mailbox_user(const Config& cfg, std::string_view recipient);

}  // namespace kurir::mail
