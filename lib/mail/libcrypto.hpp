// OpenSSL's libcrypto, loaded when a process first signs, verifies or
// hashes with it (DKIM's RSA, SRS's HMAC-SHA1), not when it starts: its
// relocated data costs about 0.4 MB of private memory in every process that
// maps it, and most cleanup processes never sign (doc/performance.md).
// The functions are OpenSSL's own, called through this table; programs that
// link libcrypto anyway (smtpd and smtp, for TLS) get the same library.
#pragma once

#include "util/result.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace kurir::mail {

struct Libcrypto {
    decltype(&::BIO_ctrl) BIO_ctrl = nullptr;
    decltype(&::BIO_free) BIO_free = nullptr;
    decltype(&::BIO_new) BIO_new = nullptr;
    decltype(&::BIO_new_mem_buf) BIO_new_mem_buf = nullptr;
    decltype(&::BIO_s_mem) BIO_s_mem = nullptr;
    decltype(&::CRYPTO_free) CRYPTO_free = nullptr;
    decltype(&::EVP_DigestSign) EVP_DigestSign = nullptr;
    decltype(&::EVP_DigestSignInit) EVP_DigestSignInit = nullptr;
    decltype(&::EVP_DigestVerify) EVP_DigestVerify = nullptr;
    decltype(&::EVP_DigestVerifyInit) EVP_DigestVerifyInit = nullptr;
    decltype(&::EVP_MD_CTX_free) EVP_MD_CTX_free = nullptr;
    decltype(&::EVP_MD_CTX_new) EVP_MD_CTX_new = nullptr;
    decltype(&::EVP_PKEY_Q_keygen) EVP_PKEY_Q_keygen = nullptr;
    decltype(&::EVP_PKEY_free) EVP_PKEY_free = nullptr;
    decltype(&::EVP_PKEY_get_base_id) EVP_PKEY_get_base_id = nullptr;
    decltype(&::EVP_PKEY_get_bits) EVP_PKEY_get_bits = nullptr;
    decltype(&::EVP_PKEY_get_raw_private_key) EVP_PKEY_get_raw_private_key = nullptr;
    decltype(&::EVP_PKEY_get_raw_public_key) EVP_PKEY_get_raw_public_key = nullptr;
    decltype(&::EVP_sha1) EVP_sha1 = nullptr;
    decltype(&::EVP_sha256) EVP_sha256 = nullptr;
    decltype(&::HMAC) HMAC = nullptr;
    decltype(&::PEM_read_bio_PrivateKey) PEM_read_bio_PrivateKey = nullptr;
    decltype(&::PEM_write_bio_PrivateKey) PEM_write_bio_PrivateKey = nullptr;
    decltype(&::d2i_PUBKEY) d2i_PUBKEY = nullptr;
    decltype(&::d2i_PublicKey) d2i_PublicKey = nullptr;
    decltype(&::i2d_PUBKEY) i2d_PUBKEY = nullptr;
};

// libcrypto, loaded on the first call (once per process), or why it cannot
// be: every function above found, or an error naming what is missing.
const util::Result<Libcrypto>& libcrypto();

}  // namespace kurir::mail
