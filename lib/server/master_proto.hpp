// What master and its children agree on. A child is exec'd with
//
//   fd 3  the service's listening socket (inet or unix)
//   fd 4  the write end of the service's status pipe
//   fd 5  smtpd services with TLS: the service's TLS credentials, a sealed
//         memfd holding the PEM key and certificate chain (server/tls_credentials)
//   fd 6.. with "-s N" (N > 1): the service's other N-1 listening sockets (an
//         inet service without a host listens on each inet_interfaces
//         address: 0.0.0.0 and ::, or 127.0.0.1 and ::1, ...), as Postfix's
//         master passes a service's sockets
//
// and arguments "-c CONFIG_DIR -n SERVICE -t TYPE [-u] [-r] [-s N] [-o name=value ...]"
// (-u: drop to mail_owner; -r: chroot to queue_directory first). It
// writes a StatusMessage to fd 4 whenever it becomes available (idle) or
// busy; master starts another process for the service only when none is
// available. On the wire a message is one attribute frame (util/attr.hpp):
//
//   protocol = "child-status/1", pid (decimal, positive), status ("busy" |
//   "available")
//
// decoded as strictly as mail/mail_proto.hpp's frames: a wrong protocol,
// a missing, extra or malformed field is logged by master and dropped.
// Each frame is smaller than PIPE_BUF, so writes never interleave.
#pragma once

#include "util/attr.hpp"
#include "util/result.hpp"

#include <sys/types.h>

#include <string>

namespace kurir::server {

inline constexpr int kListenFd = 3;
inline constexpr int kStatusFd = 4;
inline constexpr int kTlsFd = 5;
inline constexpr int kMoreListenFd = 6;

enum class ChildStatus : int { busy = 0, available = 1 };

struct StatusMessage {
    pid_t pid;
    ChildStatus status;
};

util::Attrs encode_status(const StatusMessage& m);
util::Result<StatusMessage> decode_status(const util::Attrs& frame);

}  // namespace kurir::server
