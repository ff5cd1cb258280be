// OpenSSL's libssl and libcrypto, with libevent's bridge to them
// (libevent_openssl), loaded when a process first sets up TLS, not when it
// starts: libcrypto's relocated data alone is about 0.4 MB of private memory
// in every process that maps it, and most master, smtpd and smtp processes
// never speak TLS (doc/performance.md).
//
// The TLS code calls OpenSSL by its own names, macros included; libssl.cpp
// defines each function it uses as a forwarder to the loaded library. A
// process that may run chrooted loads it before the chroot (smtpd when it
// has TLS credentials, smtp and lmtp when their security level is not none).
#pragma once

#include "util/result.hpp"

namespace kurir::server {

// Loads the libraries once per process (later calls give the first answer):
// every function the forwarders need found, or an error naming what is
// missing. Call it before the first OpenSSL call of a TLS setup; a
// forwarder called without it loads them itself, and ends the process with
// the error if it cannot.
const util::Result<void>& load_tls_library();

}  // namespace kurir::server
