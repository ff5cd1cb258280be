// DKIM verification (RFC 6376 6), without DNS: the signatures of a
// message's headers are read, the body is fed once (one body hash per
// canonicalization and length that a signature asks for), and each
// signature is then checked against its key record's text, which the
// caller looked up (selector._domainkey.domain TXT) or failed to. The
// results are those of an Authentication-Results header (RFC 8601).
#pragma once

#include "mail/dkim_canon.hpp"
#include "mail/dkim_sign.hpp"
#include "mail/dkim_tags.hpp"

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kurir::mail {

enum class DkimResult { pass, fail, neutral, temperror, permerror, policy };
std::string_view to_string(DkimResult result);

struct DkimVerdict {
    DkimResult result = DkimResult::permerror;
    std::string domain;     // d=
    std::string selector;   // s=
    std::string identity;   // i=
    std::string algorithm;  // a=
    std::string reason;     // why not pass, for the log and the header comment
    std::string b_prefix;   // the first 8 characters of b= (RFC 6008 header.b)
};

// What the caller's key lookup gave: a TXT record, none, or a temporary
// failure (the result is temperror, never fail).
struct DkimKeyLookup {
    enum class Status { found, not_found, temporary } status = Status::not_found;
    std::string txt;
};

class DkimVerifier {
public:
    // At most max_signatures DKIM-Signature headers are checked (the first
    // ones from the top), each other one is ignored, as verifiers cap work.
    explicit DkimVerifier(std::vector<DkimHeaderField> headers, size_t max_signatures = 5);
    ~DkimVerifier();
    DkimVerifier(const DkimVerifier&) = delete;
    DkimVerifier& operator=(const DkimVerifier&) = delete;

    // The signatures found; for each, the key to look up (empty when the
    // signature cannot be checked at all).
    size_t signatures() const;
    std::string key_name(size_t i) const;  // "selector._domainkey.domain"

    void body_line(std::string_view content);
    void finish_body();

    // Checks signature i; now is the time for x=.
    DkimVerdict verify(size_t i, const DkimKeyLookup& key, std::time_t now) const;

private:
    struct Sig;
    struct Body;
    std::vector<DkimHeaderField> headers_;
    std::vector<Sig> sigs_;
    std::vector<std::unique_ptr<Body>> bodies_;
};

}  // namespace kurir::mail
