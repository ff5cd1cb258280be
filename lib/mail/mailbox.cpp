#include "mail/mailbox.hpp"

#include "mail/address.hpp"
#include "mail/from_line.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <optional>
#include <thread>

namespace kurir::mail {
namespace {

DeliveryStatus defer(std::string text) { return {"4.2.0", std::move(text)}; }

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// A name for what fd has open that no rename or link in a directory on the
// way can redirect: fd's entry in /proc (empty where there is no /proc).
std::string descriptor_path(int fd) {
    std::string proc = "/proc/self/fd/" + std::to_string(fd);
    struct stat st {};
    return ::stat(proc.c_str(), &st) == 0 ? proc : std::string();
}

// A name just made in dir, made durable (fd: any file on the same filesystem,
// for a directory we may write but not read; -1 for the spool, which local
// may read); what says what was being made.
DeliveryStatus sync_entry(const std::string& dir, int fd, const std::string& what) {
    if (auto synced = util::sync_entry(dir, fd); !synced) return defer(what + ": " + synced.error().text);
    return {"2.0.0", ""};
}

// Called when a delivery found its Maildir incomplete: makes what is
// missing and syncs the Maildir's own entry and those of its
// subdirectories, whoever made them (another delivery may be just making
// them), before mail goes in. reached: how to reach the maildir (its
// descriptor's name in /proc, or the maildir itself).
DeliveryStatus ensure_maildir(const std::string& maildir, const std::string& reached) {
    for (const char* sub : {"", "tmp", "new", "cur"}) {
        if (::mkdir((reached + "/" + sub).c_str(), 0700) < 0 && errno != EEXIST)
            return defer(errno_text("create maildir " + maildir + "/" + sub));
    }
    int fd = ::open(reached.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return defer(errno_text("open maildir " + maildir));
    util::Fd guard(fd);
    if (::fsync(fd) < 0) return defer(errno_text("fsync maildir " + maildir));
    return sync_entry(util::dirname_of(maildir), fd, "create maildir " + maildir);
}

}  // namespace

DeliveryStatus deliver_maildir(const std::string& maildir, std::string_view prefix, std::string_view body,
                               const std::string& hostname, int opened) {
    static unsigned long counter = 0;
    struct timeval tv {};
    ::gettimeofday(&tv, nullptr);
    std::string host;
    for (char c : hostname) host += (c == '/' ? "\\057" : c == ':' ? "\\072" : std::string(1, c));
    std::string name = fmt::format("{}.M{}P{}Q{}.{},S={}", tv.tv_sec, tv.tv_usec, ::getpid(), ++counter, host,
                                   prefix.size() + body.size());
    // The file appears in new/ whole and durable, or not at all; tmp/ is
    // used only where the filesystem cannot make an unnamed file.
    const std::string reached = opened >= 0 ? descriptor_path(opened) : maildir;
    if (reached.empty()) return defer("cannot deliver to maildir " + maildir + ": no /proc to reach it through");
    std::string new_dir = reached + "/new";
    std::string tmp = reached + "/tmp/" + name;
    auto written = util::create_file_durable(new_dir, name, {prefix, body}, 0600, tmp);
    if (!written) {  // perhaps a Maildir not (fully) made yet: make what is missing, try once more
        if (auto st = ensure_maildir(maildir, reached); !st.ok()) return st;
        written = util::create_file_durable(new_dir, name, {prefix, body}, 0600, tmp);
    }
    if (!written) return defer("cannot deliver to maildir " + maildir + ": " + written.error().text);
    return {"2.0.0", "delivered to maildir"};
}

std::variant<DeliveryStatus, util::Fd> open_spool_maildir(const std::string& path, uid_t uid, gid_t gid) {
    if (auto made = make_spool_maildir(path, uid, gid); !made.ok()) return made;
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {  // Linux says ENOTDIR for a link too
        struct stat link {};
        bool is_link = ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
        return defer("maildir " + path + (is_link ? " is a symbolic link" : " is not a directory"));
    }
    if (fd < 0) return defer(errno_text("open maildir " + path));
    util::Fd dir(fd);
    struct stat st {};
    if (::fstat(fd, &st) < 0) return defer(errno_text("fstat maildir " + path));
    if (st.st_uid != uid)
        return defer("maildir " + path + " is not owned by the recipient (uid " + std::to_string(st.st_uid) + ")");
    return dir;
}

DeliveryStatus make_spool_maildir(const std::string& path, uid_t uid, gid_t gid) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) return {"2.0.0", ""};
    std::string aside = path + ".new.XXXXXX";
    if (::mkdtemp(aside.data()) == nullptr) return defer(errno_text("create maildir " + path));
    bool made = true;
    for (const char* sub : {"/tmp", "/new", "/cur"})
        made = made && ::mkdir((aside + sub).c_str(), 0700) == 0 &&
               ::fchownat(AT_FDCWD, (aside + sub).c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) == 0;
    made = made && ::fchownat(AT_FDCWD, aside.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) == 0;
    made = made && util::fsync_dir(aside);
    int saved = errno;
    std::string spool = util::dirname_of(path);
    if (made && ::rename(aside.c_str(), path.c_str()) == 0) return sync_entry(spool, -1, "create maildir " + path);
    if (made) saved = errno;
    for (const char* sub : {"/tmp", "/new", "/cur"}) ::rmdir((aside + sub).c_str());
    ::rmdir(aside.c_str());
    // Another delivery made it first: theirs is as good as ours, once synced.
    if (made && (saved == EEXIST || saved == ENOTEMPTY)) return sync_entry(spool, -1, "create maildir " + path);
    errno = saved;
    return defer(errno_text("create maildir " + path));
}

DeliveryStatus make_spool_mbox(const std::string& path, uid_t uid, gid_t gid) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) return {"2.0.0", ""};
    // An unnamed file, given to the user, then linked in: the name never
    // has a second link nor a root owner (deliver_mbox refuses both).
    // Without O_TMPFILE it is made in place and given away at once (a
    // delivery in that moment defers and tries again).
    std::string dir = util::dirname_of(path);
    int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) return defer(errno_text("create mailbox " + path));
        util::Fd guard(fd);
        if (fd >= 0 && ::fchown(fd, uid, gid) < 0) return defer(errno_text("create mailbox " + path));
        return sync_entry(dir, -1, "create mailbox " + path);  // ours, or another delivery's just made
    }
    util::Fd guard(fd);
    if (::fchown(fd, uid, gid) < 0) return defer(errno_text("create mailbox " + path));
    if (!util::link_unnamed(fd, path) && errno != EEXIST) return defer(errno_text("create mailbox " + path));
    return sync_entry(dir, fd, "create mailbox " + path);
}

std::string mbox_entry(std::string_view sender, long arrival, std::string_view prefix, std::string_view body) {
    std::string out = from_line(sender, arrival);
    out.append(prefix);
    size_t pos = 0;
    while (pos < body.size()) {
        size_t nl = body.find('\n', pos);
        std::string_view line = body.substr(pos, nl == body.npos ? body.npos : nl - pos + 1);
        if (line.starts_with("From ")) out += '>';
        out.append(line);
        pos += line.size();
    }
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += '\n';
    return out;
}

namespace {

void on_lock_alarm(int) {}

// fcntl's write lock, waited for as a reader holds it (the kernel hands it
// over the moment the reader lets go), but not for ever: a reader's lock held
// on (a mail client, a stuck NFS lock) would hold this local process, and
// all local delivery once every process of the transport waits so. After
// `wait` the delivery defers. SIGALRM, every `tick`, interrupts the wait to
// look at the clock: one that comes before the wait begins is followed by
// the next. "" once locked, else why not.
std::string lock_for_writing(int fd, std::chrono::milliseconds wait, std::chrono::milliseconds tick) {
    using Clock = std::chrono::steady_clock;
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &fl) == 0) return "";
    if (errno != EAGAIN && errno != EACCES) return errno_text("lock");
    struct sigaction alarm {}, before {};
    alarm.sa_handler = on_lock_alarm;  // no SA_RESTART: the wait ends with EINTR
    sigemptyset(&alarm.sa_mask);
    ::sigaction(SIGALRM, &alarm, &before);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(tick).count();
    timeval every{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
    itimerval ticking{every, every}, off{};
    ::setitimer(ITIMER_REAL, &ticking, nullptr);
    auto deadline = Clock::now() + wait;
    int r = -1;
    int why = EAGAIN;
    while (Clock::now() < deadline) {
        r = ::fcntl(fd, F_SETLKW, &fl);
        why = errno;
        if (r == 0 || why != EINTR) break;
    }
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::sigaction(SIGALRM, &before, nullptr);
    if (r == 0) return "";
    if (why == EINTR) why = EAGAIN;
    return std::string("unable to lock for exclusive access: ") + std::strerror(why);
}

}  // namespace

MboxLocking mbox_locking(const Config& cfg) {
    MboxLocking l;
    l.attempts = cfg.integer("deliver_lock_attempts");
    l.delay = std::chrono::seconds(cfg.seconds("deliver_lock_delay"));
    l.stale = std::chrono::seconds(cfg.seconds("stale_lock_time"));
    return l;
}

namespace {

// How long both locks are waited for: as long as Postfix's attempts, delay
// apart, take (a day at most: settings past that are taken as "a long
// time", not left to overflow the clock's arithmetic). The fcntl wait
// looks at the clock every tick; the dot-lock is looked at every poll
// (50 ms at most), so that a reader's lock let go is soon taken.
struct LockTimes {
    std::chrono::milliseconds wait, tick, poll;
};

LockTimes lock_times(const MboxLocking& locking) {
    using std::chrono::milliseconds;
    const auto day = milliseconds(86400000);
    const auto delay = std::clamp(locking.delay, milliseconds(0), day);
    LockTimes t;
    t.wait = std::min(std::clamp(locking.attempts - 1, 0L, 86400L) * delay, day);
    t.tick = std::clamp(delay, milliseconds(10), milliseconds(1000));
    t.poll = std::min(t.tick, milliseconds(50));
    return t;
}

}  // namespace

std::variant<DotLock, DeliveryStatus> DotLock::take(const std::string& mbox, const MboxLocking& locking) {
    using Clock = std::chrono::steady_clock;
    const LockTimes times = lock_times(locking);
    std::string lock = mbox + ".lock";
    bool busy = false;
    for (auto deadline = Clock::now() + times.wait;;) {
        int lfd = ::open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lfd >= 0) {
            ::close(lfd);
            return DotLock(lock, true);
        }
        busy = errno == EEXIST;
        if (!busy) return DotLock(lock, false);  // no permission for dot-locks: fcntl alone
        struct stat st {};
        if (::lstat(lock.c_str(), &st) == 0 && st.st_ctime + locking.stale.count() < ::time(nullptr) &&
            (::unlink(lock.c_str()) == 0 || errno == ENOENT))
            continue;  // another's, left behind: gone, try again at once
        if (Clock::now() >= deadline) break;
        std::this_thread::sleep_for(times.poll);
    }
    // A reader (a POP3 session, a mail client) has held its dot-lock all
    // this time and is not stale: never write under it; try again later,
    // as Postfix does.
    return defer("cannot update mailbox " + mbox + ": unable to create lock file " + lock + ": " +
                 std::strerror(EEXIST));
}

DotLock::~DotLock() {
    if (held_) ::unlink(path_.c_str());
}

DeliveryStatus deliver_mbox(const std::string& path, std::string_view sender, long arrival,
                            std::string_view prefix, std::string_view body, MboxKind kind,
                            const MboxLocking& locking) {
    const LockTimes times = lock_times(locking);
    // Dot-lock first, as other mail readers expect, then fcntl.
    std::optional<DotLock> dotlock;
    if (!locking.dotlock_held) {
        auto taken = DotLock::take(path, locking);
        if (auto* refused = std::get_if<DeliveryStatus>(&taken)) return *refused;
        dotlock.emplace(std::move(std::get<DotLock>(taken)));
    }
    // A mailbox this delivery creates has its name synced with the mail.
    // O_NONBLOCK: opening a FIFO for writing would wait for a reader.
    constexpr int kOpen = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
    bool created = false;
    int fd = ::open(path.c_str(), kOpen);
    if (fd < 0 && errno == ENOENT) {
        fd = ::open(path.c_str(), kOpen | O_CREAT | O_EXCL, 0600);
        created = fd >= 0;
        if (fd < 0 && errno == EEXIST) fd = ::open(path.c_str(), kOpen);
    }
    if (fd < 0 && errno == ELOOP) return defer("mailbox " + path + " is a symbolic link");
    if (fd < 0 && errno == ENXIO) return defer("mailbox " + path + " is not a regular file");  // a FIFO, no reader
    if (fd < 0) return defer(errno_text("open mailbox " + path));
    util::Fd guard(fd);
    struct stat st {};
    if (::fstat(fd, &st) < 0) return defer(errno_text("fstat mailbox " + path));
    bool device = kind == MboxKind::file && S_ISCHR(st.st_mode);
    if (device) {  // /dev/null and the like: the message is written, nothing more
        std::string entry = mbox_entry(sender, arrival, prefix, body);
        if (auto w = util::write_all(fd, entry, path); !w) return defer("cannot append to " + path + ": " + w.error().text);
        return {"2.0.0", "delivered to file: " + path};
    }
    if (!S_ISREG(st.st_mode)) return defer("mailbox " + path + " is not a regular file");
    if (st.st_nlink != 1) return defer("mailbox " + path + " is not a regular file with one link");
    if (kind == MboxKind::mailbox && st.st_uid != ::geteuid())
        return defer("mailbox " + path + " is not owned by the recipient (uid " + std::to_string(st.st_uid) + ")");
    if (kind == MboxKind::file && (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
        return {"5.7.1", "cannot append message to file " + path + ": file is executable"};
    if (::fcntl(fd, F_SETFL, O_APPEND) < 0) return defer(errno_text("fcntl mailbox " + path));
    if (auto l = lock_for_writing(fd, times.wait, times.tick); !l.empty())
        return defer("cannot update mailbox " + path + ": " + l);
    off_t start = ::lseek(fd, 0, SEEK_END);
    std::string entry = mbox_entry(sender, arrival, prefix, body);
    auto w = util::write_all(fd, entry, path);
    if (w && ::fsync(fd) < 0) w = util::fail_errno("fsync " + path);
    if (w && created) w = util::sync_entry(util::dirname_of(path), fd);
    if (!w) {
        std::string why = w.error().text;
        if (::ftruncate(fd, start) < 0) why += " (and the mailbox could not be truncated back)";
        return defer("cannot update mailbox " + path + ": " + why);
    }
    return {"2.0.0", "delivered to mailbox"};
}

DeliveryStatus as_user(uid_t uid, gid_t gid, const std::function<DeliveryStatus()>& fn) {
    if (!util::running_as_root()) return fn();
    if (::setegid(gid) < 0 || ::setgroups(1, &gid) < 0 || ::seteuid(uid) < 0) {
        (void)::seteuid(0);
        (void)::setegid(0);
        return {"4.3.0", "cannot switch to the recipient's user id"};
    }
    DeliveryStatus st = fn();
    if (::seteuid(0) < 0 || ::setegid(0) < 0) util::msg_fatal("cannot regain root after delivery");
    gid_t root = 0;
    ::setgroups(1, &root);
    return st;
}

}  // namespace kurir::mail
