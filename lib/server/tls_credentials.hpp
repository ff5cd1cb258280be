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

#include <string>
#include <string_view>

namespace kurir::server {

// The file names of settings, read in order; a file named twice (key and
// certificate in one file, Postfix's default) is read once.
util::Result<std::string> read_tls_credentials(const TlsServerSettings& settings);

// A read-only, sealed memory file holding bytes.
util::Result<util::Fd> seal_credentials(std::string_view bytes);
// What a sealed memory file holds.
util::Result<std::string> read_sealed(int fd);

}  // namespace kurir::server
