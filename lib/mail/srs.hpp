// The Sender Rewriting Scheme (srs_address.hpp has the forms): a sender of
// mail we forward to another domain becomes an address at srs_domain that
// only we can make, and a bounce to it goes back to the sender. The hash is
// libsrs2's, as postsrsd uses it: the first four base64 characters of
// HMAC-SHA1(secret, the lower-cased fields concatenated), so addresses made
// by postsrsd with the same secret and domain are reversed here, and the
// other way round. The first secret signs, every secret verifies (rotation).
// In kurir_dkim, the library that links OpenSSL.
#pragma once

#include "mail/config.hpp"
#include "mail/srs_address.hpp"
#include "util/result.hpp"

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail::srs {

inline constexpr size_t kHashLength = 4;

// The first kHashLength base64 characters of HMAC-SHA1 over the parts,
// each lower-cased.
std::string hash(std::string_view secret, std::initializer_list<std::string_view> parts);

class Codec {
public:
    // secrets: not empty; the first signs.
    Codec(std::string domain, std::vector<std::string> secrets, int max_age_days = kMaxAgeDays);

    // The address to use as envelope sender for sender (user@host) when
    // mail from it is forwarded at time now: SRS0 for an ordinary address,
    // SRS1 for another forwarder's SRS0 or SRS1 address, the sender itself
    // when it is already at our domain or has no domain.
    std::string forward(std::string_view sender, long now) const;
    // The address an SRS address at any domain stands for (SRS0: the
    // sender; SRS1: the first forwarder's SRS0 address), or why not: "Not
    // an SRS address", "Hash invalid in SRS address", "Time stamp out of
    // date", a missing field.
    util::Result<std::string> reverse(std::string_view address, long now) const;

    const std::string& domain() const { return domain_; }

private:
    bool hash_ok(std::string_view given, std::initializer_list<std::string_view> parts) const;

    std::string domain_;
    std::vector<std::string> secrets_;
    int max_age_days_;
};

// srs_secrets' file: one secret a line (blank lines and # comments
// skipped). The file must not be readable by others (main.cf is), and
// must hold a secret.
util::Result<std::vector<std::string>> load_secrets(const std::string& path);

// The codec srs_domain and srs_secrets configure, or nothing when
// srs_domain is empty (SRS off). An error names the parameter.
util::Result<std::optional<Codec>> from_config(const Config& cfg);

// Whether domain is ours, so that its mail needs no SRS when we forward
// it: mydestination, virtual_alias_domains, virtual_mailbox_domains, or
// srs_domain itself. A table that cannot answer is an error.
util::Result<bool> our_domain(const Config& cfg, std::string_view domain);

}  // namespace kurir::mail::srs
