#include "mail/libcrypto.hpp"

#include <dlfcn.h>

#include <string>
#include <type_traits>

namespace kurir::mail {
namespace {

util::Result<Libcrypto> load() {
    void* handle = ::dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!handle) return util::fail(std::string("cannot load libcrypto.so.3: ") + ::dlerror());
    Libcrypto c;
    std::string missing;
    auto bind = [&](auto& fn, const char* name) {
        void* sym = ::dlsym(handle, name);
        if (!sym) missing += std::string(missing.empty() ? "" : ", ") + name;
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
    };
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
    if (!missing.empty()) return util::fail("libcrypto.so.3 lacks " + missing);
    return c;
}

}  // namespace

const util::Result<Libcrypto>& libcrypto() {
    // Never destroyed: a key a static cache holds is freed through it at exit.
    static const auto* loaded = new util::Result<Libcrypto>(load());
    return *loaded;
}

}  // namespace kurir::mail
