// What master and its children agree on. A child is exec'd with
//
//   fd 3  the service's listening socket (inet or unix)
//   fd 4  the write end of the service's status pipe
//
// and arguments "-c CONFIG_DIR -n SERVICE -t TYPE [-u] [-r] [-o name=value ...]"
// (-u: drop to mail_owner; -r: chroot to queue_directory first). It
// writes a StatusMessage to fd 4 whenever it becomes available (idle) or
// busy; master starts another process for the service only when none is
// available. On the wire a message is kStatusSize bytes: the pid and the
// status, each a big-endian 32-bit integer; writes are smaller than
// PIPE_BUF, so they never interleave. master decodes strictly: a pid that
// is not positive or a status other than 0 (busy) and 1 (available) is
// logged and dropped.
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <string_view>

namespace kurir::server {

inline constexpr int kListenFd = 3;
inline constexpr int kStatusFd = 4;

enum class ChildStatus : int { busy = 0, available = 1 };

struct StatusMessage {
    pid_t pid;
    ChildStatus status;
};

inline constexpr size_t kStatusSize = 8;
std::array<char, kStatusSize> encode_status(const StatusMessage& m);
util::Result<StatusMessage> decode_status(std::string_view bytes);

}  // namespace kurir::server
