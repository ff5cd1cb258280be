// local's mailbox writers are the mail library's (mail/mailbox.hpp),
// shared with virtual; local names them as its own.
#pragma once

#include "mail/mailbox.hpp"

namespace kurir::local {

using mail::as_user;
using mail::deliver_maildir;
using mail::deliver_mbox;
using mail::DeliveryStatus;
using mail::make_spool_maildir;
using mail::make_spool_mbox;
using mail::open_spool_maildir;
using mail::mbox_entry;
using mail::MboxKind;

}  // namespace kurir::local
