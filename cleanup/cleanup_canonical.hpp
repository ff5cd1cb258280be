// canonical_maps, sender_canonical_maps and recipient_canonical_maps in
// cleanup, as Postfix's cleanup_map11.c: one address to one address,
// looked up again until a table maps it to itself or knows it no more (at
// most kCanonicalRecursion times), for the address classes
// canonical_classes, sender_canonical_classes and
// recipient_canonical_classes name (envelope_sender, envelope_recipient,
// header_sender, header_recipient). Sender tables come before
// canonical_maps for senders, recipient tables before it for recipients.
// A table that cannot answer defers the message, never passes it unmapped.
#pragma once

#include "cleanup/cleanup_virtual_alias.hpp"
#include "mail/config.hpp"
#include "util/result.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace kurir::cleanup {

// Postfix's address classes, as bits.
enum AddressClass : unsigned {
    kEnvelopeSender = 1,
    kEnvelopeRecipient = 2,
    kHeaderSender = 4,
    kHeaderRecipient = 8,
};
// A *_classes parameter's value; an unknown name is an error naming it.
util::Result<unsigned> parse_address_classes(const mail::Config& cfg, const std::string& parameter);

constexpr int kCanonicalRecursion = 10;

// The address a canonical table makes of address (address itself when no
// table knows it). canon makes a result without a domain complete.
util::Result<std::string> map_canonical(std::string_view address, const AliasLookup& lookup, std::string_view title,
                                        const std::function<util::Result<std::string>(std::string_view)>& canon);

// The tables of one of the *canonical_maps parameters, reopened when
// rebuilt; nothing when the parameter is empty.
AliasLookup canonical_lookup(const mail::Config& cfg, const std::string& parameter);

}  // namespace kurir::cleanup
