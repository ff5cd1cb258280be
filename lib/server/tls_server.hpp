// smtpd's OpenSSL server context, built from TLS settings and a credential
// bundle (PEM: the private key and the certificate chain, leaf first; see
// server/tls_credentials). TLS 1.2 and 1.3 by default, the server's cipher
// order, session tickets and an in-process session cache for resumption.
#pragma once

#include "server/tls_params.hpp"
#include "util/result.hpp"

#include <memory>
#include <string>
#include <string_view>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace kurir::server {

class TlsServer {
public:
    // Checks the bundle: one private key, at least one certificate, the
    // key matching the leaf certificate. origin names the bundle in errors.
    static util::Result<std::unique_ptr<TlsServer>> create(const TlsServerSettings& settings, std::string_view pem,
                                                           std::string_view origin);
    ~TlsServer();
    TlsServer(const TlsServer&) = delete;
    TlsServer& operator=(const TlsServer&) = delete;

    // Session tickets under these keys (server/tls_credentials) instead of
    // the process's own random ones.
    util::Result<void> set_ticket_keys(std::string_view keys);
    // A server SSL for one handshake (nullptr when OpenSSL has no memory).
    SSL* new_ssl() const;
    const TlsServerSettings& settings() const { return settings_; }

    // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", as Postfix logs it.
    static std::string describe(SSL* ssl);
    // The OpenSSL error queue as one line (and cleared).
    static std::string last_error();

private:
    TlsServer() = default;
    SSL_CTX* ctx_ = nullptr;
    TlsServerSettings settings_;
};

}  // namespace kurir::server
