#include "smtp/smtp_tls.hpp"

#include "server/libssl.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fmt/format.h>

namespace kurir::smtp {

namespace {
bool is_ip_literal(const std::string& name) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    char buf[256] = "unknown error";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}
}  // namespace

std::unique_ptr<TlsPolicy> TlsPolicy::create(const mail::Config& cfg, std::string& error, std::string_view prefix) {
    auto p = std::unique_ptr<TlsPolicy>(new TlsPolicy);
    std::string level_param = std::string(prefix) + "_tls_security_level";
    std::string ca_param = std::string(prefix) + "_tls_CAfile";
    std::string level = cfg.str(level_param);
    if (level.empty() || level == "none") p->level_ = TlsLevel::none;
    else if (level == "may") p->level_ = TlsLevel::may;
    else if (level == "encrypt") p->level_ = TlsLevel::encrypt;
    else if (level == "verify") p->level_ = TlsLevel::verify;
    else if (level == "secure") p->level_ = TlsLevel::secure;
    else {
        error = level_param + ": unknown level \"" + level + "\"";
        return nullptr;
    }
    if (p->level_ == TlsLevel::none) return p;
    if (const auto& library = server::load_tls_library(); !library) {
        error = "TLS: " + library.error().text;
        return nullptr;
    }
    p->ctx_ = SSL_CTX_new(TLS_client_method());
    if (p->ctx_ == nullptr) {
        error = "SSL_CTX_new: " + openssl_error();
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(p->ctx_, TLS1_2_VERSION);
    std::string ca = cfg.str(ca_param);
    if (!ca.empty() && SSL_CTX_load_verify_locations(p->ctx_, ca.c_str(), nullptr) != 1) {
        error = ca_param + " " + ca + ": " + openssl_error();
        return nullptr;
    }
    if (ca.empty()) SSL_CTX_set_default_verify_paths(p->ctx_);
    // The handshake always completes; check_peer applies the policy after it,
    // so that an opportunistic session still logs what it saw.
    SSL_CTX_set_verify(p->ctx_, SSL_VERIFY_NONE, nullptr);
    return p;
}

TlsPolicy::~TlsPolicy() {
    if (ctx_) SSL_CTX_free(ctx_);
}

SSL* TlsPolicy::new_ssl(const std::string& sni_name, const std::string& match_name) const {
    SSL* ssl = SSL_new(ctx_);
    if (ssl == nullptr) return nullptr;
    if (!is_ip_literal(sni_name)) SSL_set_tlsext_host_name(ssl, sni_name.c_str());
    if (level_ >= TlsLevel::verify) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (is_ip_literal(match_name))
            X509_VERIFY_PARAM_set1_ip_asc(param, match_name.c_str());
        else
            X509_VERIFY_PARAM_set1_host(param, match_name.c_str(), 0);
    }
    return ssl;
}

std::string TlsPolicy::check_peer(SSL* ssl) const {
    if (level_ < TlsLevel::verify) return {};
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr) return "server certificate not presented";
    X509_free(cert);
    long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK)
        return fmt::format("server certificate not verified: {}", X509_verify_cert_error_string(result));
    return {};
}

std::string TlsPolicy::describe(SSL* ssl) {
    int bits = 0;
    int alg_bits = SSL_get_cipher_bits(ssl, &bits);
    return fmt::format("{} with cipher {} ({}/{} bits)", SSL_get_version(ssl), SSL_get_cipher_name(ssl), alg_bits,
                       bits);
}

std::string TlsPolicy::trust(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert == nullptr) return "Anonymous";
    X509_free(cert);
    return SSL_get_verify_result(ssl) == X509_V_OK ? "Verified" : "Untrusted";
}

}  // namespace kurir::smtp
