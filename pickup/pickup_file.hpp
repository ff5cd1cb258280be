// pickup's judgement of one maildrop file, as a pure function: the file's
// bytes and the owner the file system reports in; the record stream for
// cleanup (or why the file is corrupt) out.
#pragma once

#include "mail/config.hpp"

#include <sys/types.h>

#include <expected>
#include <string>
#include <string_view>

namespace kurir::pickup {

struct Submitter {
    uid_t uid;
    std::string login;  // from the password database; the uid when unknown
    bool trusted;       // root or mail_owner: may set any sender silently
};

struct PickedUp {
    std::string stream;  // A, S, R, M, content, X for cleanup
    std::string sender;  // for the log
    std::string login;
};

// autodetect_smtputf8 (smtputf8_autodetect_classes has "sendmail"): a
// submission with UTF-8 in its envelope or headers gets the SMTPUTF8
// request, as one that came with MAIL FROM's SMTPUTF8 (mail/smtputf8.hpp).
std::expected<PickedUp, std::string> prepare_maildrop_file(const mail::Config& cfg, std::string_view bytes,
                                                           const Submitter& who, bool autodetect_smtputf8 = false);

}  // namespace kurir::pickup
