#include "mail/dkim_verify.hpp"
#include "mail/libcrypto.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>

namespace kurir::mail {

struct DkimVerifier::Sig {
    size_t header_index = 0;
    std::optional<DkimSignature> parsed;
    std::string error;  // why parsed is empty
    size_t body = 0;    // index into bodies_
};

struct DkimVerifier::Body {
    DkimCanon canon;
    std::optional<uint64_t> limit;
    DkimBodyHash hash;
    std::string result;
    Body(DkimCanon c, std::optional<uint64_t> l) : canon(c), limit(l), hash(c, l) {}
};

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string trim_fws(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return std::string(s);
}

// The signature field's value with b='s value (and the white space around
// it) removed, everything else exactly as it stands (RFC 6376 3.7).
std::string without_b_value(std::string_view value) {
    std::string out;
    size_t pos = 0;
    while (pos <= value.size()) {
        size_t semi = value.find(';', pos);
        size_t end = semi == std::string_view::npos ? value.size() : semi;
        std::string_view spec = value.substr(pos, end - pos);
        size_t eq = spec.find('=');
        if (eq != std::string_view::npos && trim_fws(spec.substr(0, eq)) == "b")
            out.append(spec.substr(0, eq + 1));
        else
            out.append(spec);
        if (semi == std::string_view::npos) break;
        out.push_back(';');
        pos = semi + 1;
    }
    return out;
}

std::optional<std::string> unbase64(const std::string& b64) {
    std::string out(b64.size(), '\0');
    size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), b64.data(), b64.size(), nullptr,
                          &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
        return std::nullopt;
    out.resize(len);
    return out;
}

// RSA: a SubjectPublicKeyInfo, or (as some records carry) a bare PKCS#1
// RSAPublicKey.
bool rsa_verifies(const std::string& der, const std::string& signature, const std::string& data, std::string& why) {
    const auto& lc = libcrypto();
    if (!lc) {
        why = lc.error().text;
        return false;
    }
    const Libcrypto& c = *lc;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    EVP_PKEY* pkey = c.d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
    if (!pkey) {
        p = reinterpret_cast<const unsigned char*>(der.data());
        pkey = c.d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size()));
    }
    if (!pkey || c.EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
        c.EVP_PKEY_free(pkey);
        why = "key is not an RSA public key";
        return false;
    }
    if (c.EVP_PKEY_get_bits(pkey) < 1024) {
        c.EVP_PKEY_free(pkey);
        why = "RSA key shorter than 1024 bits";
        return false;
    }
    EVP_MD_CTX* ctx = c.EVP_MD_CTX_new();
    bool ok = ctx && c.EVP_DigestVerifyInit(ctx, nullptr, c.EVP_sha256(), nullptr, pkey) == 1 &&
              c.EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                 reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    c.EVP_MD_CTX_free(ctx);
    c.EVP_PKEY_free(pkey);
    if (!ok) why = "signature did not verify";
    return ok;
}

}  // namespace

std::string_view to_string(DkimResult result) {
    switch (result) {
    case DkimResult::pass: return "pass";
    case DkimResult::fail: return "fail";
    case DkimResult::neutral: return "neutral";
    case DkimResult::temperror: return "temperror";
    case DkimResult::permerror: return "permerror";
    case DkimResult::policy: return "policy";
    }
    return "permerror";
}

DkimVerifier::DkimVerifier(std::vector<DkimHeaderField> headers, size_t max_signatures)
    : headers_(std::move(headers)) {
    for (size_t i = 0; i < headers_.size() && sigs_.size() < max_signatures; ++i) {
        if (!iequals(headers_[i].first, "DKIM-Signature")) continue;
        Sig sig;
        sig.header_index = i;
        auto parsed = parse_dkim_signature(headers_[i].second);
        if (!parsed) {
            sig.error = parsed.error().text;
        } else {
            DkimCanon canon = parsed->body_canon == "relaxed" ? DkimCanon::relaxed : DkimCanon::simple;
            auto same = std::find_if(bodies_.begin(), bodies_.end(), [&](const auto& b) {
                return b->canon == canon && b->limit == parsed->length;
            });
            if (same == bodies_.end()) {
                bodies_.push_back(std::make_unique<Body>(canon, parsed->length));
                same = bodies_.end() - 1;
            }
            sig.body = static_cast<size_t>(same - bodies_.begin());
            sig.parsed = std::move(*parsed);
        }
        sigs_.push_back(std::move(sig));
    }
}

DkimVerifier::~DkimVerifier() = default;

size_t DkimVerifier::signatures() const { return sigs_.size(); }

std::string DkimVerifier::key_name(size_t i) const {
    const auto& s = sigs_.at(i);
    if (!s.parsed) return "";
    return s.parsed->selector + "._domainkey." + s.parsed->domain;
}

void DkimVerifier::body_line(std::string_view content) {
    for (auto& b : bodies_) b->hash.line(content);
}

void DkimVerifier::finish_body() {
    for (auto& b : bodies_) b->result = b->hash.finish();
}

DkimVerdict DkimVerifier::verify(size_t i, const DkimKeyLookup& key, std::time_t now) const {
    const Sig& s = sigs_.at(i);
    DkimVerdict v;
    if (!s.parsed) {
        v.result = DkimResult::neutral;
        v.reason = s.error;
        return v;
    }
    const DkimSignature& sig = *s.parsed;
    v.domain = sig.domain;
    v.selector = sig.selector;
    v.identity = sig.identity;
    v.algorithm = sig.algorithm;
    v.b_prefix = sig.signature.substr(0, 8);
    auto verdict = [&](DkimResult r, std::string why) {
        v.result = r;
        v.reason = std::move(why);
        return v;
    };
    if (sig.algorithm == "rsa-sha1") return verdict(DkimResult::policy, "rsa-sha1 is not accepted (RFC 8301)");
    if (sig.expiration && now > static_cast<std::time_t>(*sig.expiration))
        return verdict(DkimResult::fail, "signature expired");
    if (key.status == DkimKeyLookup::Status::temporary)
        return verdict(DkimResult::temperror, "key lookup failed temporarily");
    if (key.status == DkimKeyLookup::Status::not_found) return verdict(DkimResult::permerror, "no key for signature");
    auto record = parse_dkim_key_record(key.txt);
    if (!record) return verdict(DkimResult::permerror, record.error().text);
    if (record->public_key.empty()) return verdict(DkimResult::permerror, "key revoked");
    std::string want_type = sig.algorithm == "ed25519-sha256" ? "ed25519" : "rsa";
    if (record->key_type != want_type) return verdict(DkimResult::permerror, "key type does not match a=");
    if (!record->hash_algorithms.empty() &&
        std::find(record->hash_algorithms.begin(), record->hash_algorithms.end(), "sha256") ==
            record->hash_algorithms.end())
        return verdict(DkimResult::permerror, "key does not allow sha256");
    if (record->strict_identity) {
        std::string id_domain = sig.identity.substr(sig.identity.rfind('@') + 1);
        if (!iequals(id_domain, sig.domain)) return verdict(DkimResult::permerror, "key requires i= in d= exactly");
    }
    const Body& body = *bodies_.at(s.body);
    if (sig.length && body.hash.length() < *sig.length) return verdict(DkimResult::fail, "body shorter than l=");
    if (body.result != sig.body_hash) return verdict(DkimResult::fail, "body hash did not verify");

    DkimCanon canon = sig.header_canon == "relaxed" ? DkimCanon::relaxed : DkimCanon::simple;
    std::string data = dkim_header_data(canon, sig.headers, headers_);
    const auto& self = headers_[s.header_index];
    std::string field = dkim_header(canon, self.first, without_b_value(self.second));
    data += field.substr(0, field.size() - 2);
    auto signature = unbase64(sig.signature);
    auto pub = unbase64(record->public_key);
    if (!signature || !pub) return verdict(DkimResult::neutral, "bad base64");
    if (want_type == "ed25519") {
        if (pub->size() != crypto_sign_PUBLICKEYBYTES) return verdict(DkimResult::permerror, "bad Ed25519 key");
        unsigned char hash[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(data.data()), data.size());
        bool ok = signature->size() == crypto_sign_BYTES &&
                  crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature->data()), hash,
                                              sizeof hash, reinterpret_cast<const unsigned char*>(pub->data())) == 0;
        return ok ? verdict(DkimResult::pass, "") : verdict(DkimResult::fail, "signature did not verify");
    }
    std::string why;
    if (!rsa_verifies(*pub, *signature, data, why))
        return verdict(why == "signature did not verify" ? DkimResult::fail : DkimResult::permerror, why);
    return verdict(DkimResult::pass, "");
}

}  // namespace kurir::mail
