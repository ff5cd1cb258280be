#include "mail/dkim_sign.hpp"
#include "mail/libcrypto.hpp"
#include "util/text.hpp"

#include <sodium.h>

#include <algorithm>
#include <unordered_map>
#include <cctype>

namespace kurir::mail {

struct DkimKey::Pkey {
    EVP_PKEY* pkey = nullptr;
    // A key exists only once libcrypto is loaded.
    ~Pkey() {
        if (pkey) libcrypto()->EVP_PKEY_free(pkey);
    }
};

struct DkimBodyHash::Ctx {
    crypto_hash_sha256_state state;
};

namespace {

std::string base64(const unsigned char* data, size_t size) {
    std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);  // the NUL
    return out;
}

// "  x=y;" pieces joined into lines of at most 76 columns, each further
// line starting with a tab.
void append_folded(std::string& out, size_t& column, std::string_view piece) {
    if (column + 1 + piece.size() > 76 && column > 1) {
        out += "\n\t";
        column = 1;
    } else {
        out += ' ';
        ++column;
    }
    out += piece;
    column += piece.size();
}

}  // namespace

DkimKey::DkimKey(Type type, std::unique_ptr<Pkey> key) : type_(type), key_(std::move(key)) {}
DkimKey::~DkimKey() = default;
DkimKey::DkimKey(DkimKey&&) noexcept = default;
DkimKey& DkimKey::operator=(DkimKey&&) noexcept = default;

util::Result<DkimKey> DkimKey::from_pem(std::string_view pem, const std::string& what) {
    const auto& lc = libcrypto();
    if (!lc) return util::fail(what + ": " + lc.error().text);
    const Libcrypto& c = *lc;
    BIO* bio = c.BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (!bio) return util::fail(what + ": out of memory");
    EVP_PKEY* pkey = c.PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    c.BIO_free(bio);
    if (!pkey) return util::fail(what + ": not a PEM private key");
    auto holder = std::make_unique<Pkey>();
    holder->pkey = pkey;
    switch (c.EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
        if (c.EVP_PKEY_get_bits(pkey) < 1024) return util::fail(what + ": RSA key shorter than 1024 bits");
        return DkimKey(Type::rsa, std::move(holder));
    case EVP_PKEY_ED25519:
        return DkimKey(Type::ed25519, std::move(holder));
    default:
        return util::fail(what + ": neither an RSA nor an Ed25519 key");
    }
}

util::Result<DkimKey> DkimKey::load(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "re");
    if (!f) return util::fail_errno("open " + path);
    std::string pem;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && pem.size() < 65536) pem.append(buf, n);
    std::fclose(f);
    auto key = from_pem(pem, path);
    sodium_memzero(pem.data(), pem.size());
    return key;
}

util::Result<DkimKey> DkimKey::generate(Type type, int bits) {
    const auto& lc = libcrypto();
    if (!lc) return util::fail(lc.error().text);
    auto holder = std::make_unique<Pkey>();
    if (type == Type::rsa) {
        if (bits < 1024 || bits > 4096) return util::fail("RSA key size " + std::to_string(bits) + ": want 1024 to 4096");
        // EVP_RSA_gen(bits), a macro over this call.
        holder->pkey = lc->EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
    } else {
        holder->pkey = lc->EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    }
    if (!holder->pkey) return util::fail("key generation failed");
    return DkimKey(type, std::move(holder));
}

// The methods below run on a key, which exists only once libcrypto is loaded.
util::Result<std::string> DkimKey::private_pem() const {
    const Libcrypto& c = *libcrypto();
    BIO* bio = c.BIO_new(c.BIO_s_mem());
    if (!bio) return util::fail("out of memory");
    std::string out;
    if (c.PEM_write_bio_PrivateKey(bio, key_->pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
        char* data = nullptr;
        long len = c.BIO_ctrl(bio, BIO_CTRL_INFO, 0, reinterpret_cast<char*>(&data));  // BIO_get_mem_data
        out.assign(data, static_cast<size_t>(len));
    }
    c.BIO_free(bio);
    if (out.empty()) return util::fail("cannot write the private key");
    return out;
}

util::Result<std::string> DkimKey::dns_record() const {
    const Libcrypto& c = *libcrypto();
    if (type_ == Type::ed25519) {
        unsigned char pub[32];
        size_t len = sizeof pub;
        if (c.EVP_PKEY_get_raw_public_key(key_->pkey, pub, &len) != 1 || len != 32)
            return util::fail("cannot read the Ed25519 public key");
        return "v=DKIM1; k=ed25519; p=" + base64(pub, len);
    }
    unsigned char* der = nullptr;
    int len = c.i2d_PUBKEY(key_->pkey, &der);
    if (len <= 0) return util::fail("cannot encode the RSA public key");
    std::string record = "v=DKIM1; k=rsa; p=" + base64(der, static_cast<size_t>(len));
    c.CRYPTO_free(der, __FILE__, __LINE__);  // OPENSSL_free
    return record;
}

util::Result<std::string> DkimKey::sign(std::string_view data) const {
    const Libcrypto& c = *libcrypto();
    if (type_ == Type::ed25519) {
        unsigned char seed[32];
        size_t len = sizeof seed;
        if (c.EVP_PKEY_get_raw_private_key(key_->pkey, seed, &len) != 1 || len != 32)
            return util::fail("cannot read the Ed25519 private key");
        if (sodium_init() < 0) return util::fail("libsodium cannot start");
        unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
        crypto_sign_seed_keypair(pk, sk, seed);
        unsigned char hash[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(data.data()), data.size());
        unsigned char sig[crypto_sign_BYTES];
        crypto_sign_detached(sig, nullptr, hash, sizeof hash, sk);
        sodium_memzero(seed, sizeof seed);
        sodium_memzero(sk, sizeof sk);
        return base64(sig, sizeof sig);
    }
    EVP_MD_CTX* ctx = c.EVP_MD_CTX_new();
    if (!ctx) return util::fail("out of memory");
    std::string sig;
    size_t len = 0;
    if (c.EVP_DigestSignInit(ctx, nullptr, c.EVP_sha256(), nullptr, key_->pkey) == 1 &&
        c.EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1) {
        std::string raw(len, '\0');
        if (c.EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(raw.data()), &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1)
            sig = base64(reinterpret_cast<const unsigned char*>(raw.data()), len);
    }
    c.EVP_MD_CTX_free(ctx);
    if (sig.empty()) return util::fail("RSA signing failed");
    return sig;
}

DkimBodyHash::DkimBodyHash(DkimCanon canon, std::optional<uint64_t> limit)
    : ctx_(std::make_unique<Ctx>()),
      canon_(
          canon,
          [this](std::string_view bytes) {
              crypto_hash_sha256_update(&ctx_->state, reinterpret_cast<const unsigned char*>(bytes.data()),
                                        bytes.size());
          },
          limit) {
    crypto_hash_sha256_init(&ctx_->state);
}

DkimBodyHash::~DkimBodyHash() = default;

std::string DkimBodyHash::finish() {
    canon_.finish();
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&ctx_->state, hash);
    return base64(hash, sizeof hash);
}

const std::vector<std::string>& dkim_default_signed_headers() {
    static const std::vector<std::string> names = {
        "from", "reply-to", "subject", "date", "to", "cc", "message-id", "in-reply-to", "references",
        "mime-version", "content-type", "content-transfer-encoding"};
    return names;
}

std::string dkim_header_data(DkimCanon canon, const std::vector<std::string>& names,
                             const std::vector<DkimHeaderField>& headers) {
    // Each name's fields, top down; taken from the back. One pass over the
    // headers, whatever the number of names (a stranger's h= and header
    // block may both run to many thousands).
    std::unordered_map<std::string, std::vector<size_t>> unused;
    for (const auto& name : names) unused.try_emplace(util::lowercase(name));
    for (size_t i = 0; i < headers.size(); ++i)
        if (auto at = unused.find(util::lowercase(headers[i].first)); at != unused.end()) at->second.push_back(i);
    std::string data;
    for (const auto& name : names) {
        auto& left = unused[util::lowercase(name)];
        if (left.empty()) continue;
        const auto& [field_name, value] = headers[left.back()];
        left.pop_back();
        data += dkim_header(canon, field_name, value);
    }
    return data;
}

util::Result<std::string> dkim_sign(const DkimKey& key, const DkimSignRequest& request,
                                    const std::vector<DkimHeaderField>& headers, const std::string& body_hash) {
    auto bad = [](std::string_view s) {
        return s.empty() || std::any_of(s.begin(), s.end(), [](char c) {
                   return !(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_');
               });
    };
    if (bad(request.domain)) return util::fail("DKIM domain \"" + request.domain + "\": not a domain name");
    if (bad(request.selector)) return util::fail("DKIM selector \"" + request.selector + "\": not a selector");
    // Each name once more than the message has it.
    std::vector<std::string> names;
    for (const auto& name : request.signed_headers) {
        std::string n = util::lowercase(name);
        size_t present = 0;
        for (const auto& h : headers) present += util::lowercase(h.first) == n;
        names.insert(names.end(), present + 1, n);
    }
    std::string value;
    size_t column = std::string_view("DKIM-Signature:").size();
    append_folded(value, column, "v=1;");
    append_folded(value, column, "a=" + key.algorithm() + ";");
    append_folded(value, column, "c=relaxed/relaxed;");
    append_folded(value, column, "d=" + request.domain + ";");
    append_folded(value, column, "s=" + request.selector + ";");
    append_folded(value, column, "t=" + std::to_string(static_cast<long long>(request.now)) + ";");
    for (size_t i = 0; i < names.size(); ++i) {
        std::string piece = (i == 0 ? "h=" : "") + names[i] + (i + 1 < names.size() ? ":" : ";");
        if (i == 0 || column + piece.size() > 76) {
            append_folded(value, column, piece);
        } else {
            value += piece;
            column += piece.size();
        }
    }
    append_folded(value, column, "bh=" + body_hash + ";");
    append_folded(value, column, "b=");
    std::string data = dkim_header_data(DkimCanon::relaxed, names, headers);
    std::string self = dkim_header(DkimCanon::relaxed, "DKIM-Signature", value);
    data += self.substr(0, self.size() - 2);  // without its CRLF (RFC 6376 3.7)
    auto sig = key.sign(data);
    if (!sig) return std::unexpected(sig.error());
    // b= folded in pieces; a verifier removes its white space.
    for (size_t i = 0; i < sig->size(); i += 64) {
        if (i == 0 && column + 64 <= 76) {
            value += sig->substr(0, 64);
            column += 64;
        } else {
            value += "\n\t " + sig->substr(i, 64);
        }
    }
    return value;
}

}  // namespace kurir::mail
