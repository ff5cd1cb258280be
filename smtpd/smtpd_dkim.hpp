// DKIM verification of inbound mail in smtpd (kurir's own; Postfix leaves
// it to a milter): with smtpd_dkim_verify = yes, the content of a message
// from a client that is neither in mynetworks nor authenticated (the mail
// kurir signs itself) passes through DkimContent on its way to cleanup;
// at its end the signatures' keys (selector._domainkey.domain TXT) are
// asked of the process's DNS channel, at most dkim_verify_timeout in all,
// never blocking the loop, and cleanup gets one
// "Authentication-Results: $dkim_authserv_id; dkim=..." field (a P record)
// before the end of the content. A failed, missing or late key never
// refuses the message: the header says temperror or permerror.
#pragma once

#include "mail/config.hpp"
#include "mail/dkim_verify.hpp"
#include "util/result.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

struct event;

namespace kurir::smtpd {

struct DkimVerifyPolicy {
    bool enable = false;      // smtpd_dkim_verify
    std::string authserv_id;  // dkim_authserv_id
    size_t max_signatures = 5;  // dkim_verify_max_signatures
    long timeout = 10;        // dkim_verify_timeout, seconds
    size_t header_limit = 0;  // header_size_limit
    std::string strip;        // message_strip_characters, parsed
    bool mask_cr_lf = true;   // cleanup_replace_stray_cr_lf
};

util::Result<DkimVerifyPolicy> load_dkim_verify_policy(const mail::Config& cfg);

// The key lookups of one message at its end: one per signature (nullopt
// while asked), the answers still to come, the step that follows, and the
// timer that bounds the wait.
struct DkimLookups {
    std::vector<std::optional<mail::DkimKeyLookup>> keys;
    size_t pending = 0;
    bool asking = false;  // queries are being sent (an answer may come at once)
    std::function<void()> then;
    event* timer = nullptr;

    DkimLookups() = default;
    DkimLookups(const DkimLookups&) = delete;
    DkimLookups& operator=(const DkimLookups&) = delete;
    ~DkimLookups();
};

}  // namespace kurir::smtpd
