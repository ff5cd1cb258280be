// The queue on disk: queue ids, the queue directories and moves between them.
// This module alone knows how a queue file's path is made.
//
// A queue id is 15 characters of Postfix's base-52 alphabet: 6 for the
// arrival second, 4 for the microsecond, 5 random (libsodium), so ids sort
// by arrival and cannot be guessed.
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

enum class Queue { maildrop, incoming, active, deferred, hold, corrupt };

inline constexpr Queue kAllQueues[] = {Queue::maildrop, Queue::incoming, Queue::active,
                                       Queue::deferred, Queue::hold,     Queue::corrupt};

std::string_view queue_name(Queue q);
std::optional<Queue> parse_queue(std::string_view name);

// kurir-super -e/-f's mark on a queue file: the group execute bit, as
// Postfix's postsuper sets it (MAIL_QUEUE_STAT_EXPIRE). Set through the
// file's descriptor; qmgr returns such a message to its sender on its next
// delivery attempt instead of delivering it.
inline constexpr mode_t kForcedExpireMode = 0010;

std::string new_queue_id();
std::string queue_id_at(long seconds, long micros, std::string_view random5);
bool valid_queue_id(std::string_view id);

class QueueDir {
public:
    explicit QueueDir(std::string queue_directory) : root_(std::move(queue_directory)) {}
    const std::string& root() const { return root_; }
    std::string dir(Queue q) const;
    std::string path(Queue q, std::string_view id) const;
    std::string private_socket(std::string_view service) const;
    std::string public_socket(std::string_view service) const;
    std::string pid_file() const;
    // rename(2) from one queue to another; the file keeps its one owner.
    util::Result<void> move(std::string_view id, Queue from, Queue to) const;
    // Queue ids of the complete files in q, oldest first; skips temp files.
    std::vector<std::string> list(Queue q) const;
    // Where a queue file of id is now, if anywhere.
    std::optional<Queue> find(std::string_view id) const;
    // Creates the queue directories, sockets directories and pid/. When
    // owner is given (run by root), the queues belong to it and maildrop and
    // public/ to its drop group, as privilege separation needs.
    struct Owner {
        uid_t uid;
        gid_t gid;
        gid_t drop_gid;
    };
    util::Result<void> create_layout(const std::optional<Owner>& owner) const;

private:
    std::string root_;
};

}  // namespace kurir::mail
