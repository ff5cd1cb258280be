// DKIM's text forms as pure functions over bytes (RFC 6376): the tag-list
// of a DKIM-Signature header and of a key record in DNS, and the typed
// reading of both. Whitespace inside a value (folding) is kept by the
// tag-list parser; the typed readers remove it where RFC 6376 says it is
// not part of the value (base64 data, the h= list).
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

struct DkimTag {
    std::string name;
    std::string value;
};

// tag-spec *( ";" tag-spec ) [ ";" ], tag names ALPHA *(ALPHA / DIGIT /
// "_"), values of VALCHARs (%x21-3A / %x3C-7E) separated by folding white
// space; a tag named twice is an error (RFC 6376 3.2).
util::Result<std::vector<DkimTag>> parse_dkim_tags(std::string_view text);

struct DkimSignature {
    std::string algorithm;         // a=, "rsa-sha256" or "ed25519-sha256"
    std::string signature;         // b=, base64 without white space
    std::string body_hash;         // bh=, base64 without white space
    std::string header_canon = "simple", body_canon = "simple";  // c=
    std::string domain;            // d=
    std::vector<std::string> headers;  // h=, lowercased, in order
    std::string identity;          // i=, "@" + d= when absent
    std::optional<uint64_t> length;    // l=
    std::string selector;          // s=
    std::optional<uint64_t> timestamp, expiration;  // t=, x=
};

// A DKIM-Signature header's value. v=1, a=, b=, bh=, d=, h= (with from),
// s= are required; i= must be in d= or a subdomain of it; unknown tags are
// ignored as RFC 6376 says.
util::Result<DkimSignature> parse_dkim_signature(std::string_view value);

struct DkimKeyRecord {
    std::string key_type = "rsa";  // k=
    std::string public_key;        // p=, base64 without white space; "" = revoked
    std::vector<std::string> hash_algorithms;  // h=, empty = any
    bool testing = false;          // t=y
    bool strict_identity = false;  // t=s
};

// A _domainkey TXT record (the strings of the record joined).
util::Result<DkimKeyRecord> parse_dkim_key_record(std::string_view txt);

}  // namespace kurir::mail
