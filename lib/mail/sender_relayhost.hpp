// sender_dependent_relayhost_maps, as Postfix's trivial-rewrite: a table
// searched with the envelope sender ("user@domain", then "@domain"; the
// null sender as empty_address_relayhost_maps_lookup_key, "<>") whose value
// is a nexthop in relayhost's syntax that replaces relayhost for mail from
// that sender; "DUNNO" (any case) means "use relayhost".
#pragma once

#include "mail/maps.hpp"
#include "util/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kurir::mail {

// The relayhost for mail from sender, or nullopt (no entry, or DUNNO): use
// $relayhost. A table error is an error, never "no entry".
util::Result<std::optional<std::string>> sender_dependent_relayhost(const MapList& maps, std::string_view sender,
                                                                    std::string_view null_sender_key);

}  // namespace kurir::mail
