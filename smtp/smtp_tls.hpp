// The smtp client's TLS policy (smtp_tls_security_level) and OpenSSL context.
//   none     never STARTTLS
//   may      STARTTLS when offered; a failed handshake retries in plaintext
//   encrypt  STARTTLS required (defer when not offered), any certificate
//   verify   STARTTLS required, certificate chain valid for smtp_tls_CAfile
//            and its name matching the MX host name
//   secure   as verify, the name matching the nexthop domain
#pragma once

#include "mail/config.hpp"

#include <memory>
#include <string>
#include <string_view>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace kurir::smtp {

enum class TlsLevel { none, may, encrypt, verify, secure };

class TlsPolicy {
public:
    // Errors name the parameter that is wrong. prefix: "smtp", or "lmtp"
    // for lmtp_tls_security_level and lmtp_tls_CAfile.
    static std::unique_ptr<TlsPolicy> create(const mail::Config& cfg, std::string& error,
                                             std::string_view prefix = "smtp");
    ~TlsPolicy();
    TlsLevel level() const { return level_; }
    bool required() const { return level_ >= TlsLevel::encrypt; }
    // A client SSL for one handshake; match_name is checked when verifying.
    SSL* new_ssl(const std::string& sni_name, const std::string& match_name) const;
    // After the handshake: empty when the peer passes the policy, else why not.
    std::string check_peer(SSL* ssl) const;
    // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
    static std::string describe(SSL* ssl);
    // "Trusted", "Verified" or "Untrusted"
    static std::string trust(SSL* ssl);

private:
    TlsLevel level_ = TlsLevel::none;
    SSL_CTX* ctx_ = nullptr;
};

}  // namespace kurir::smtp
