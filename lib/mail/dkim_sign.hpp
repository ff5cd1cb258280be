// DKIM signing (RFC 6376) with RSA-SHA256 (OpenSSL) and Ed25519-SHA256
// (RFC 8463, libsodium), relaxed/relaxed: keys read from PEM files, the
// public key record for DNS, the body hash fed line by line, and the
// DKIM-Signature header field for a message's headers. Separate from
// kurir_mail because it needs OpenSSL.
#pragma once

#include "mail/dkim_canon.hpp"
#include "util/result.hpp"

#include <array>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::mail {

class DkimKey {
public:
    enum class Type { rsa, ed25519 };
    ~DkimKey();
    DkimKey(DkimKey&&) noexcept;
    DkimKey& operator=(DkimKey&&) noexcept;

    // A private key in PEM (PKCS#8 or traditional RSA).
    static util::Result<DkimKey> from_pem(std::string_view pem, const std::string& what);
    static util::Result<DkimKey> load(const std::string& path);
    // A new key: RSA of `bits` (1024 to 4096) or Ed25519.
    static util::Result<DkimKey> generate(Type type, int bits = 2048);

    Type type() const { return type_; }
    std::string algorithm() const { return type_ == Type::rsa ? "rsa-sha256" : "ed25519-sha256"; }
    // The private key in PKCS#8 PEM.
    util::Result<std::string> private_pem() const;
    // "v=DKIM1; k=rsa; p=..." for selector._domainkey.domain TXT.
    util::Result<std::string> dns_record() const;
    // The signature of data: RSASSA-PKCS1-v1_5 with SHA-256, or Ed25519
    // over the SHA-256 of data (RFC 8463 3).
    util::Result<std::string> sign(std::string_view data) const;

private:
    struct Pkey;
    DkimKey(Type type, std::unique_ptr<Pkey> key);
    Type type_;
    std::unique_ptr<Pkey> key_;
};

// SHA-256 of the canonical body.
class DkimBodyHash {
public:
    explicit DkimBodyHash(DkimCanon canon = DkimCanon::relaxed, std::optional<uint64_t> limit = std::nullopt);
    ~DkimBodyHash();
    DkimBodyHash(const DkimBodyHash&) = delete;
    DkimBodyHash& operator=(const DkimBodyHash&) = delete;
    void line(std::string_view content) { canon_.line(content); }
    // The base64 of the hash; the object is done after it.
    std::string finish();
    // The canonical body's length so far (after finish: all of it, up to
    // the limit).
    uint64_t length() const { return canon_.length(); }

private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
    DkimBodyCanon canon_;
};

// The header names signed by default, current practice: each one present
// is signed, and each is named once more than it occurs so that a copy
// added later breaks the signature (oversigning).
const std::vector<std::string>& dkim_default_signed_headers();

struct DkimSignRequest {
    std::string domain;
    std::string selector;
    std::vector<std::string> signed_headers = dkim_default_signed_headers();
    std::time_t now = 0;
};

// A message header: its name and everything after the colon, folding
// included, without the final line end.
using DkimHeaderField = std::pair<std::string, std::string>;

// The DKIM-Signature field's value (after "DKIM-Signature:"), folded with
// LF + tab, for the given headers and base64 body hash.
util::Result<std::string> dkim_sign(const DkimKey& key, const DkimSignRequest& request,
                                    const std::vector<DkimHeaderField>& headers, const std::string& body_hash);

// The signed header list and the canonical headers of a signature, as a
// verifier computes them: for each name in h=, the last occurrence not yet
// used (bottom up); names with none left add nothing.
std::string dkim_header_data(DkimCanon canon, const std::vector<std::string>& names,
                             const std::vector<DkimHeaderField>& headers);

}  // namespace kurir::mail
