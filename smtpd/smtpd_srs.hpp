// RCPT TO an address at srs_domain that has the SRS form (mail/srs.hpp):
// the bounce of a message we forwarded, or mail to one. A valid address
// (hash made with one of srs_secrets, timestamp of the last 21 days) is a
// recipient in our domain that stands for the address it reverses to (the
// original sender, or for SRS1 the first forwarder's SRS0 address): smtpd
// hands cleanup that address, with the SRS address as the original
// recipient. Any other is refused as an unknown user (550 5.1.1), so that
// nobody can use our domain to relay.
#pragma once

#include "mail/config.hpp"

#include <string>

namespace kurir::smtpd {

struct SrsRecipient {
    enum class Kind {
        none,     // not an SRS address at srs_domain, or SRS is off
        valid,    // target is the reversed address
        invalid,  // why says what is wrong with it
        error,    // srs_secrets cannot be read: why; the client retries later
    };
    Kind kind = Kind::none;
    std::string target;
    std::string why;
};

SrsRecipient srs_recipient(const mail::Config& cfg, const std::string& rcpt, long now);

}  // namespace kurir::smtpd
