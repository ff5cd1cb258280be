#include "server/tls_server.hpp"

#include "server/libssl.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <fmt/format.h>

namespace kurir::server {

std::string TlsServer::last_error() {
    std::string text;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!text.empty()) text += "; ";
        text += buf;
    }
    return text.empty() ? "unknown error" : text;
}

util::Result<std::unique_ptr<TlsServer>> TlsServer::create(const TlsServerSettings& settings, std::string_view pem,
                                                           std::string_view origin) {
    if (const auto& library = load_tls_library(); !library) return std::unexpected(library.error());
    auto t = std::unique_ptr<TlsServer>(new TlsServer);
    t->settings_ = settings;
    ERR_clear_error();
    t->ctx_ = SSL_CTX_new(TLS_server_method());
    if (t->ctx_ == nullptr) return util::fail("SSL_CTX_new: " + last_error());
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr);
    if (infos == nullptr) return util::fail(fmt::format("{}: {}", origin, last_error()));
    EVP_PKEY* key = nullptr;
    X509* leaf = nullptr;
    std::vector<X509*> chain;
    for (int i = 0; i < sk_X509_INFO_num(infos); ++i) {
        X509_INFO* info = sk_X509_INFO_value(infos, i);
        if (info->x_pkey && info->x_pkey->dec_pkey && key == nullptr) key = info->x_pkey->dec_pkey;
        if (info->x509) (leaf == nullptr ? leaf : chain.emplace_back()) = info->x509;
    }
    auto done = [&](util::Result<std::unique_ptr<TlsServer>> r) {
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
        return r;
    };
    if (key == nullptr) return done(util::fail(fmt::format("{}: no private key", origin)));
    if (leaf == nullptr) return done(util::fail(fmt::format("{}: no certificate", origin)));
    if (SSL_CTX_use_certificate(t->ctx_, leaf) != 1 || SSL_CTX_use_PrivateKey(t->ctx_, key) != 1)
        return done(util::fail(fmt::format("{}: {}", origin, last_error())));
    for (X509* c : chain)
        if (SSL_CTX_add1_chain_cert(t->ctx_, c) != 1)
            return done(util::fail(fmt::format("{}: chain: {}", origin, last_error())));
    if (SSL_CTX_check_private_key(t->ctx_) != 1)
        return done(util::fail(fmt::format("{}: private key does not match the certificate: {}", origin, last_error())));
    sk_X509_INFO_pop_free(infos, X509_INFO_free);

    SSL_CTX_set_min_proto_version(t->ctx_, settings.protocols.min_version());
    SSL_CTX_set_max_proto_version(t->ctx_, settings.protocols.max_version());
    // Holes inside the range ("!TLSv1.2" with 1.1 and 1.3 on) as OpenSSL options.
    unsigned on = settings.protocols.enabled;
    if (!(on & TlsProtocols::tls1)) SSL_CTX_set_options(t->ctx_, SSL_OP_NO_TLSv1);
    if (!(on & TlsProtocols::tls1_1)) SSL_CTX_set_options(t->ctx_, SSL_OP_NO_TLSv1_1);
    if (!(on & TlsProtocols::tls1_2)) SSL_CTX_set_options(t->ctx_, SSL_OP_NO_TLSv1_2);
    if (!(on & TlsProtocols::tls1_3)) SSL_CTX_set_options(t->ctx_, SSL_OP_NO_TLSv1_3);
    if (SSL_CTX_set_cipher_list(t->ctx_, settings.cipher_list.c_str()) != 1)
        return util::fail(fmt::format("cipher list \"{}\": {}", settings.cipher_list, last_error()));
    // The server's order of ciphers, no renegotiation, no compression.
    SSL_CTX_set_options(t->ctx_, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // Resumption: tickets (OpenSSL's default, keyed per process) and the
    // server-side cache, under one session id context.
    static const unsigned char sid_ctx[] = "kurir-smtpd";
    SSL_CTX_set_session_id_context(t->ctx_, sid_ctx, sizeof sid_ctx - 1);
    SSL_CTX_set_session_cache_mode(t->ctx_, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_verify(t->ctx_, SSL_VERIFY_NONE, nullptr);
    return t;
}

TlsServer::~TlsServer() {
    if (ctx_) SSL_CTX_free(ctx_);
}

util::Result<void> TlsServer::set_ticket_keys(std::string_view keys) {
    std::string copy(keys);  // OpenSSL's call takes a non-const buffer
    if (SSL_CTX_set_tlsext_ticket_keys(ctx_, copy.data(), static_cast<long>(copy.size())) != 1)
        return util::fail("TLS session ticket keys: " + last_error());
    return {};
}

SSL* TlsServer::new_ssl() const { return SSL_new(ctx_); }

std::string TlsServer::describe(SSL* ssl) {
    int alg_bits = 0;
    int bits = SSL_get_cipher_bits(ssl, &alg_bits);
    return fmt::format("{} with cipher {} ({}/{} bits)", SSL_get_version(ssl), SSL_get_cipher_name(ssl), bits, alg_bits);
}

}  // namespace kurir::server
