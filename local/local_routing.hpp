// Where local sends a recipient's mailbox delivery, in Postfix local(8)'s
// order: mailbox_transport_maps (key: the user), mailbox_transport; then,
// for a user not in passwd, fallback_transport_maps, fallback_transport,
// and luser_relay (an address with $name expansion). Anything else is
// local's own mailbox. Pure: the tables are passed in.
//
// luser_relay only sees users local does not know: smtpd refuses unknown
// recipients first unless local_recipient_maps lets them in (empty, as
// kurir init writes it), as Postfix's documentation says.
#pragma once

#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "util/result.hpp"

#include <string>
#include <string_view>

namespace kurir::local {

struct MailboxRoute {
    enum class Kind { mailbox, transport, luser_relay } kind = Kind::mailbox;
    std::string value;  // transport: "lmtp:unix:private/dovecot-lmtp"; luser_relay: the expanded address
};

struct RoutingTables {
    const mail::MapList& mailbox_transport_maps;
    const mail::MapList& fallback_transport_maps;
};

// known_user: user has a passwd account. A table that fails is an error
// (the recipient is deferred), never "not found".
util::Result<MailboxRoute> route_mailbox(const mail::Config& cfg, const RoutingTables& tables,
                                         std::string_view recipient, bool known_user);

// luser_relay's $name expansion (Postfix local_expand): $user (the local
// part without extension, lowercased), $local (the whole local part),
// $extension, $domain, $recipient, $recipient_delimiter, as $name or
// ${name}, and ${name?text} / ${name:text} for set / unset names.
util::Result<std::string> expand_local_macros(std::string_view text, const mail::Config& cfg,
                                              std::string_view recipient);

}  // namespace kurir::local
