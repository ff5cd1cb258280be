// DKIM signing in cleanup: which mail is signed (local submission, bounces,
// and SMTP mail from mynetworks or an authenticated client), with which keys
// (the From: domain looked up in dkim_signing_table, else dkim_sign_domains
// with dkim_selector and dkim_private_key), and the signer that reads the
// queue file's content records as cleanup writes them and makes the
// DKIM-Signature fields at the end (one per key: RSA and Ed25519 at once
// when both are configured), which cleanup writes as P records.
#pragma once

#include "mail/config.hpp"
#include "mail/dkim_sign.hpp"
#include "mail/record.hpp"
#include "util/result.hpp"

#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::cleanup {

// One key item: "selector:/path/to/key.pem", or "/path/to/key.pem" with
// the default selector.
struct DkimKeySpec {
    std::string selector;
    std::string path;
    bool operator==(const DkimKeySpec&) const = default;
};
// A comma or space separated list of key items (dkim_private_key, or a
// dkim_signing_table value); an item that is not one is an error naming it.
util::Result<std::vector<DkimKeySpec>> parse_dkim_key_specs(std::string_view text, std::string_view default_selector);

struct DkimSigningKey {
    std::string selector;
    std::shared_ptr<const mail::DkimKey> key;
};
// The keys that sign mail whose From: domain is the argument (lowercased);
// none when the domain is not signed. An error (a table that cannot answer,
// a key that cannot be read) defers the message.
using DkimKeysFor = std::function<util::Result<std::vector<DkimSigningKey>>(std::string_view domain)>;

// From the configuration, with keys read once and again when their file
// changes; nothing when no domain is signed.
DkimKeysFor dkim_keys_lookup(const mail::Config& cfg);

// Whether mail of this origin is ours to sign (the cleanup stream's
// attributes): a local submission or a bounce, or SMTP mail from a client
// in mynetworks or one that authenticated; never forwarded or requeued mail.
using AttrLookup = std::function<std::string(std::string_view name)>;
util::Result<bool> dkim_signs_origin(const mail::Config& cfg, const AttrLookup& attr);

// Reads the queue file's records as cleanup writes them (envelope records
// are skipped, the content's header fields kept, the body hashed) and signs
// at the end.
class DkimContentSigner {
public:
    DkimContentSigner(DkimKeysFor keys, std::time_t now);
    ~DkimContentSigner();
    DkimContentSigner(const DkimContentSigner&) = delete;
    DkimContentSigner& operator=(const DkimContentSigner&) = delete;

    // The next whole records of the queue file.
    util::Result<void> observe(std::string_view records);
    // The DKIM-Signature fields for a message whose P fields (the client's,
    // on top of the content) are prepended; none when the From: domain is
    // not signed or there is no From:.
    struct Signature {
        std::string field;  // "DKIM-Signature: v=1; ..."
        std::string selector, algorithm;
    };
    util::Result<std::vector<Signature>> finish(const std::vector<std::string>& prepended);
    const std::string& domain() const { return domain_; }

private:
    void content_line(std::string_view line);
    util::Result<void> end_of_headers();

    DkimKeysFor keys_for_;
    std::time_t now_;
    bool in_content_ = false;
    bool in_body_ = false;
    std::string part_;  // a line arriving in L pieces
    std::vector<mail::DkimHeaderField> headers_;
    std::vector<DkimSigningKey> keys_;
    std::string domain_;
    std::unique_ptr<mail::DkimBodyHash> body_;
    std::optional<util::Error> pending_error_;  // from end_of_headers, met inside a line callback
};

// A finished queue file (cleanup's, after milters changed it) with the
// DKIM-Signature P records for its final content added after the P fields
// it has, before its end record, and its size record counting them; log
// gets one line per signature. The file comes back unchanged when its
// From: domain has no keys.
util::Result<std::string> dkim_sign_queue_file(std::string file, const DkimKeysFor& keys, std::time_t now,
                                               std::vector<std::string>& log);

}  // namespace kurir::cleanup
