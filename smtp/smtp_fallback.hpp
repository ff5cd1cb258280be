// smtp_fallback_relay (Postfix 2.2 and earlier: fallback_relay, its
// default): destinations tried, in order, once every server of the nexthop
// failed before a mail transaction (refused, timed out, 4xx greeting or
// EHLO, TLS or SASL failure) or the nexthop could not be found. Each is a
// nexthop in relayhost's syntax ([host]:port, host:port, domain).
#pragma once

#include "mail/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kurir::smtp {

// The relays to try after nexthop, in order; nexthop itself (as written)
// is left out, so a relay is never tried twice in one delivery.
std::vector<std::string> fallback_relays(const mail::Config& cfg, std::string_view nexthop);

}  // namespace kurir::smtp
