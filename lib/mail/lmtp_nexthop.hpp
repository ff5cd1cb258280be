// LMTP destinations in Postfix's lmtp(8) syntax, as transport_maps,
// mailbox_transport and virtual_transport write them after "lmtp:":
//
//   unix:/path/to/socket        a Unix-domain socket
//   unix:private/dovecot-lmtp   relative: under queue_directory
//   inet:host:port, inet:[192.0.2.1]:port, inet:host
//   host:port, [host]:port, host
//
// A TCP destination is never looked up in MX records (LMTP talks to one
// store, not to a domain's mail exchangers); its port defaults to 24
// ("lmtp"). A pure parser over untrusted table values.
#pragma once

#include "mail/nexthop.hpp"
#include "util/result.hpp"

#include <string>
#include <string_view>

namespace kurir::mail {

inline constexpr int kLmtpPort = 24;

struct LmtpNexthop {
    bool unix_socket = false;
    std::string path;  // unix: as written (relative to queue_directory unless it starts with '/')
    Nexthop inet;      // inet: host and port, use_mx false
};

util::Result<LmtpNexthop> parse_lmtp_nexthop(std::string_view text);

// Whether a nexthop names an LMTP socket explicitly ("unix:..." or
// "inet:..."), which the SMTP syntax of parse_nexthop does not take.
bool lmtp_socket_nexthop(std::string_view text);

// The socket path to connect to: path itself when absolute, else under
// queue_directory, as Postfix's lmtp runs there.
std::string lmtp_socket_path(const LmtpNexthop& n, const std::string& queue_directory);

}  // namespace kurir::mail
