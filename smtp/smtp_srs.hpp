// The smtp client's envelope sender for recipients that we forward to
// another domain: with srs_domain set, a sender of another domain goes out
// SRS-rewritten (mail/srs.hpp), so that the receiver's SPF check sees our
// domain and its bounces come back to us. A recipient is forwarded when the
// message is a copy that local forwarded (an alias or .forward target:
// origin=forward in the queue file), or when address rewriting in cleanup
// (virtual_alias_maps, canonical maps, an SRS address reversed) gave it
// another domain than the one it was sent to. The queue file keeps the real
// sender: our own bounces and logs name it. Other recipients, mail from
// our own domains and the null sender go out as they are; forwarded and
// other recipients of one message go in separate transactions.
#pragma once

#include "mail/config.hpp"
#include "mail/queue_file.hpp"
#include "util/result.hpp"

#include <string>

namespace kurir::smtp {

bool forwarded_recipient(const mail::Config& cfg, const mail::QueueEnvelope& env, const mail::QueueRecipient& rcpt);

// The address for MAIL FROM to forwarded recipients: the SRS address of
// sender, or sender itself when SRS is off or not needed. An error
// (srs_secrets unreadable, a table that cannot answer) defers them.
util::Result<std::string> forwarded_sender(const mail::Config& cfg, const std::string& sender, long now);

}  // namespace kurir::smtp
