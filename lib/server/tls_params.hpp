// smtpd's TLS settings as Postfix writes them, parsed by pure functions:
//
//   smtpd_tls_security_level   "" | none | may | encrypt
//   smtpd_tls_protocols,       ">=TLSv1.2", "<=TLSv1.3", "!SSLv2, !SSLv3",
//   smtpd_tls_mandatory_protocols  "TLSv1.2 TLSv1.3" (separated by commas,
//                              colons or white space; Postfix's grammar)
//   smtpd_tls_ciphers,         export | low | medium | high | null (grades,
//   smtpd_tls_mandatory_ciphers    mapped to OpenSSL cipher lists as
//                              Postfix's tls_*_cipherlist defaults)
//
// The mandatory_* values apply when the level is encrypt (or wrapper mode),
// the others for opportunistic TLS, as in Postfix.
#pragma once

#include "mail/config.hpp"
#include "util/result.hpp"

#include <string>
#include <string_view>

namespace kurir::server {

enum class TlsLevel { none, may, encrypt };

util::Result<TlsLevel> parse_tls_level(std::string_view text);

// The protocol versions a setting leaves enabled, as a bit per version
// (TlsProtocols::tls1_2 ...), plus the OpenSSL min/max derived from them.
struct TlsProtocols {
    enum : unsigned { sslv2 = 1, sslv3 = 2, tls1 = 4, tls1_1 = 8, tls1_2 = 16, tls1_3 = 32, all = 63 };
    unsigned enabled = 0;
    // Lowest and highest enabled version as OpenSSL's constants
    // (TLS1_2_VERSION ...); 0 when nothing is enabled.
    int min_version() const;
    int max_version() const;
};

util::Result<TlsProtocols> parse_tls_protocols(std::string_view text);

// The OpenSSL cipher list (TLS 1.2 and below) for a Postfix cipher grade.
util::Result<std::string> cipher_list_for_grade(std::string_view grade);

// Everything smtpd needs from main.cf (and master.cf -o) to offer TLS.
struct TlsServerSettings {
    TlsLevel level = TlsLevel::none;
    bool wrapper_mode = false;
    TlsProtocols protocols;
    std::string cipher_list;
    long loglevel = 0;
    bool received_header = false;
    std::string cert_file, key_file;
    std::vector<std::string> chain_files;
    // TLS is offered (STARTTLS) or required (wrapper mode) at all.
    bool enabled() const { return level != TlsLevel::none || wrapper_mode; }
    // Clients must use TLS: encrypt, or wrapper mode.
    bool mandatory() const { return level == TlsLevel::encrypt || wrapper_mode; }
};

util::Result<TlsServerSettings> load_tls_settings(const mail::Config& cfg);

}  // namespace kurir::server
