// A local submission that cleanup refused for its content (header_checks or
// body_checks REJECT) goes back to its sender as a non-delivery notice, as
// Postfix's cleanup bounces mail that pickup hands it: sendmail already
// exited 0, so the notice is how the user learns of it.
#pragma once

#include "mail/bounce_message.hpp"
#include "mail/clients.hpp"
#include "mail/config.hpp"
#include "pickup/pickup_file.hpp"

#include <string>

namespace kurir::pickup {

// The notice's text and recipients for a refused stream (pure: clock and
// host name in cfg and now).
struct RefusalNotice {
    std::string recipient;  // the sender of the refused message
    std::string text;       // the notice, header and body
};
RefusalNotice refusal_notice(const mail::Config& cfg, const PickedUp& picked, const mail::CleanupAnswer& answer,
                             long now);

}  // namespace kurir::pickup
