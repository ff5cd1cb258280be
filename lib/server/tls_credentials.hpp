// The bytes of smtpd's TLS credentials: the key and certificate files of a
// service's settings, read (by master, as root) into one PEM bundle, key
// first, then the certificate, then the chain. master checks the bundle
// with the service's settings, keeps the last good one per service, and
// hands it to each new smtpd process as a sealed memfd on kTlsFd, so that
// smtpd never opens a root-only key file and a renewed certificate that
// does not load on reload leaves the old one in use (see master(8)).
#pragma once

#include "server/tls_params.hpp"
#include "util/fs.hpp"
#include "util/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kurir::server {

// The file names of settings, read in order; a file named twice (key and
// certificate in one file, Postfix's default) is read once.
util::Result<std::string> read_tls_credentials(const TlsServerSettings& settings);

// Session ticket keys (OpenSSL's 80 bytes: name, HMAC and AES keys) that
// master makes once and adds to every bundle, so that a session resumes
// with any smtpd process of the instance, also after a reload (Postfix
// shares them through tlsmgr). They ride in the bundle as one text line
// after the PEM blocks, which PEM readers skip.
constexpr size_t kTicketKeyBytes = 80;
util::Result<std::string> new_ticket_keys();
std::string with_ticket_keys(std::string bundle, std::string_view keys);
// The keys a bundle carries; nullopt when it has none or they are malformed.
std::optional<std::string> ticket_keys_of(std::string_view bundle);

// A read-only, sealed memory file holding bytes.
util::Result<util::Fd> seal_credentials(std::string_view bytes);
// What a sealed memory file holds.
util::Result<std::string> read_sealed(int fd);

}  // namespace kurir::server
