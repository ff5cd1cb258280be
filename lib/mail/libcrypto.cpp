#include "mail/libcrypto.hpp"

#include "util/dl_library.hpp"

namespace kurir::mail {
namespace {

util::Result<Libcrypto> load() {
    auto loaded = util::load_library<Libcrypto>("libcrypto.so.3", [](Libcrypto& c, auto bind) {
#define KURIR_BIND(name) bind(c.name, #name)
        KURIR_BIND(BIO_ctrl);
        KURIR_BIND(BIO_free);
        KURIR_BIND(BIO_new);
        KURIR_BIND(BIO_new_mem_buf);
        KURIR_BIND(BIO_s_mem);
        KURIR_BIND(CRYPTO_free);
        KURIR_BIND(EVP_DigestSign);
        KURIR_BIND(EVP_DigestSignInit);
        KURIR_BIND(EVP_DigestVerify);
        KURIR_BIND(EVP_DigestVerifyInit);
        KURIR_BIND(EVP_MD_CTX_free);
        KURIR_BIND(EVP_MD_CTX_new);
        KURIR_BIND(EVP_PKEY_Q_keygen);
        KURIR_BIND(EVP_PKEY_free);
        KURIR_BIND(EVP_PKEY_get_base_id);
        KURIR_BIND(EVP_PKEY_get_bits);
        KURIR_BIND(EVP_PKEY_get_raw_private_key);
        KURIR_BIND(EVP_PKEY_get_raw_public_key);
        KURIR_BIND(EVP_sha1);
        KURIR_BIND(EVP_sha256);
        KURIR_BIND(HMAC);
        KURIR_BIND(PEM_read_bio_PrivateKey);
        KURIR_BIND(PEM_write_bio_PrivateKey);
        KURIR_BIND(d2i_PUBKEY);
        KURIR_BIND(d2i_PublicKey);
        KURIR_BIND(i2d_PUBKEY);
#undef KURIR_BIND
    });
    if (!loaded.status) return std::unexpected(loaded.status.error());
    return loaded.functions;
}

}  // namespace

const util::Result<Libcrypto>& libcrypto() {
    // Never destroyed: a key a static cache holds is freed through it at exit.
    static const auto* loaded = new util::Result<Libcrypto>(load());
    return *loaded;
}

}  // namespace kurir::mail
