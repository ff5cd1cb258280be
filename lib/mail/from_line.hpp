// The mbox envelope line "From sender date\n" (the UNIX From_ line) that
// local's mboxes and commands and pipe's F flag put before a message.
#pragma once

#include <string>
#include <string_view>

namespace kurir::mail {

// An empty sender is MAILER-DAEMON; the date is the arrival, local time.
std::string from_line(std::string_view sender, long arrival);

}  // namespace kurir::mail
