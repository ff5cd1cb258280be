// The mailbox writers of local and virtual. Each returns a delivery status; both are durable
// before they report success (fsync of the data and of the directory entry).
#pragma once

#include "mail/config.hpp"
#include "util/fs.hpp"

#include <sys/types.h>

#include <chrono>

#include <functional>
#include <string>
#include <string_view>
#include <variant>

namespace kurir::mail {

struct DeliveryStatus {
    std::string dsn;  // "2.0.0", "4.2.0", "5.1.1", ...
    std::string text;
    bool ok() const { return !dsn.empty() && dsn[0] == '2'; }
    bool permanent() const { return !dsn.empty() && dsn[0] == '5'; }
};

// prefix: the Return-Path:/Delivered-To: lines; body: the message, LF endings.
// opened: the maildir already opened (open_spool_maildir), reached through
// that descriptor rather than its name; maildir then only names it.
DeliveryStatus deliver_maildir(const std::string& maildir, std::string_view prefix, std::string_view body,
                               const std::string& hostname, int opened = -1);

// What an mbox path is: a user's mailbox must be a regular file with one
// link owned by the user local writes as; a /file from an alias or .forward
// may also be a character device (/dev/null), never a FIFO, socket or
// directory, nor an executable file.
enum class MboxKind { mailbox, file };

// How long an mbox delivery waits for another's lock, as Postfix's
// deliver_lock_attempts, deliver_lock_delay and stale_lock_time: the
// dot-lock, then the fcntl lock, each waited for up to (attempts - 1) times
// delay before the delivery defers; a dot-lock whose change time is more
// than stale ago is removed.
struct MboxLocking {
    long attempts = 20;
    std::chrono::milliseconds delay{1000};
    std::chrono::seconds stale{500};
    bool dotlock_held = false;  // the caller holds USER.lock (a DotLock): only fcntl is left
};
MboxLocking mbox_locking(const Config& cfg);

// USER.lock beside an mbox, taken as MboxLocking says and removed when this
// goes. local takes it with root's rights for a mailbox in the spool, which
// the user may not write (as Postfix's local), then delivers as the user.
class DotLock {
public:
    // A busy lock (another's, not stale, all the wait long) is a deferral;
    // no permission to make one is a DotLock that holds nothing (fcntl
    // alone will do).
    static std::variant<DotLock, DeliveryStatus> take(const std::string& mbox, const MboxLocking& locking);
    DotLock(DotLock&& o) noexcept : path_(std::move(o.path_)), held_(o.held_) { o.held_ = false; }
    DotLock& operator=(DotLock&&) = delete;
    DotLock(const DotLock&) = delete;
    ~DotLock();
    bool held() const { return held_; }

private:
    DotLock(std::string path, bool held) : path_(std::move(path)), held_(held) {}
    std::string path_;
    bool held_;
};

// mbox: From_ line, ">From " quoting, a blank line after the message; fcntl and
// dotlock locking; a failed write is truncated away. Opened with the caller's
// rights, O_NOFOLLOW and O_NONBLOCK (a FIFO neither hangs nor is written),
// checked with fstat on the descriptor; anything else defers with its reason.
DeliveryStatus deliver_mbox(const std::string& path, std::string_view sender, long arrival,
                            std::string_view prefix, std::string_view body, MboxKind kind = MboxKind::mailbox,
                            const MboxLocking& locking = {});

// A mailbox in the spool, made by root for its user: it appears under its
// name already whole and owned by uid:gid (made aside, then renamed or linked
// into place), so a concurrent delivery never finds it half made or still
// root's. An existing mailbox is left as it is.
DeliveryStatus make_spool_maildir(const std::string& path, uid_t uid, gid_t gid);
DeliveryStatus make_spool_mbox(const std::string& path, uid_t uid, gid_t gid);

// A maildir in the spool, made as above when missing, then opened without
// following a symbolic link and checked on the descriptor: a directory
// owned by uid, or the delivery defers (whoever may write in the spool could
// have put a directory of theirs, or a link, at a user's name). Deliver
// through the descriptor (deliver_maildir's opened), so that the name
// being replaced after the check changes nothing.
std::variant<DeliveryStatus, util::Fd> open_spool_maildir(const std::string& path, uid_t uid, gid_t gid);

// Runs fn with effective uid/gid switched (root only); restores root after.
DeliveryStatus as_user(uid_t uid, gid_t gid, const std::function<DeliveryStatus()>& fn);

// The mbox form of a message: From_ line, quoted lines, trailing blank line.
std::string mbox_entry(std::string_view sender, long arrival, std::string_view prefix, std::string_view body);

}  // namespace kurir::mail
