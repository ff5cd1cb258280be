// NAME
//   kurir-super - queue maintenance, as postsuper(1)
// SYNOPSIS
//   kurir-super [-c config_dir] -d ID|ALL|- [queue]   delete
//   kurir-super [-c config_dir] -h ID|ALL|- [queue]   put on hold
//   kurir-super [-c config_dir] -H ID|ALL|- [queue]   release from hold
//   kurir-super [-c config_dir] -r ID|ALL|- [queue]   requeue (through pickup and cleanup again)
//   kurir-super [-c config_dir] -e ID|ALL|- [queue]   expire: return to sender
//   kurir-super [-c config_dir] -f ID|ALL|- [queue]   expire, and release from hold
//   kurir-super [-c config_dir] -s                    check and repair the queue
//   kurir-super [-c config_dir] -p                    purge old temporary files
// DESCRIPTION
//   "-" reads queue ids from standard input, one per line. Each change is a
//   rename or an unlink, so it is safe while the mail system runs; a message
//   qmgr is delivering at that moment finishes its current attempt; with
//   ALL the queues are looked at again until nothing is left, so a message
//   qmgr moves between deferred and active while we look is not missed. -r
//   writes the message (its recipients not yet delivered) back into maildrop
//   and removes the old file, so it gets a new queue id, as with Postfix.
//   -s moves unparseable files to corrupt/ and, run by root, gives every
//   queue file to mail_owner.
//
//   -e and -f request forced expiration, as postsuper -e and -f do (Postfix
//   3.5): the message (default queues: hold, incoming, active, deferred) is
//   marked, and qmgr returns it to the sender at its next delivery attempt
//   instead of delivering it, logging "status=expired, returned to sender"
//   for each recipient left; the notice gives the reason the recipient was
//   deferred, or "message is administratively expired". A message that
//   waits in deferred/ is asked for at once. -f also releases a message
//   from hold (as -H); with -e a held message stays on hold, expired when
//   it is released. The mark is the file's group execute bit, Postfix's.
//
//   -p purges temporary files left over after a crash, as postsuper -p:
//   the ".NAME.tmp" files that writers (cleanup, kurir-drop, kurir-super
//   -r) use where the filesystem has no O_TMPFILE, in maildrop, incoming,
//   active, deferred and hold, once they are older than a day (Postfix's
//   limit), so no writer can still be at work on them. Nothing else is
//   touched; -p may be given with any other operation, and is done first.
// SECURITY
//   For root (or the user an unprivileged instance runs as). mail_owner
//   writes every queue directory, so root trusts no name in them: a queue
//   file is opened with O_NOFOLLOW and O_NONBLOCK and used only if fstat
//   says it is a regular file; its owner (-s) and time (-H) are changed
//   through that descriptor, never a file with a second link; a symbolic
//   link, FIFO or device under a queue id is moved to corrupt/ by -s.
//   -e/-f set their mark with fchmod on that descriptor. -p removes only
//   names that lstat says are regular files (unlink never follows a link).
//   -r writes the new maildrop file as mail_owner.
// DIAGNOSTICS
//   Prints "Deleted: N messages" (and so on) to standard error; 0 on
//   success, EX_USAGE, EX_NOPERM, EX_CONFIG.
#include "mail/config.hpp"
#include "mail/log_config.hpp"
#include "mail/queue.hpp"
#include "mail/queue_file.hpp"
#include "mail/record.hpp"
#include "mail/clients.hpp"
#include "mail/mail_proto.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <iostream>
#include <set>

using namespace kurir;

namespace {

[[noreturn]] void usage() {
    fmt::print(stderr, "usage: kurir-super [-c config_dir] [-p] [-d|-h|-H|-r|-e|-f ID|ALL|- [queue] | -s]\n");
    std::exit(EX_USAGE);
}

std::string plural(size_t n) { return fmt::format("{} message{}", n, n == 1 ? "" : "s"); }

struct Owner {
    uid_t uid;
    gid_t gid;
};

// A queue file's content, read through a descriptor that is a regular file
// of its own (a link planted in the queue is never followed; a FIFO never
// blocks), so root reads nothing mail_owner could not.
util::Result<std::string> read_queue_file(const std::string& path) {
    auto fd = util::open_regular(path);
    if (!fd) return std::unexpected(fd.error());
    return util::read_all(fd->get(), path);
}

bool requeue(const mail::QueueDir& queue, mail::Queue from, const std::string& id, const std::optional<Owner>& owner) {
    std::string path = queue.path(from, id);
    auto bytes = read_queue_file(path);
    if (!bytes) {
        util::msg_warn("{}", bytes.error().text);
        return false;
    }
    auto env = mail::parse_queue_file(*bytes, mail::RecipientsRequired::no);
    if (!env) {
        util::msg_warn("{}: {}", path, env.error().text);
        return false;
    }
    // The maildrop file is written as mail_owner wrote it: pickup trusts it.
    uid_t uid = owner ? owner->uid : ::geteuid();
    std::string file;
    mail::rec_append(file, mail::rec::version, "1");
    mail::rec_append(file, mail::rec::time, fmt::format("{} {}", env->arrival_sec, env->arrival_usec));
    mail::rec_append(file, mail::rec::attr, fmt::format("uid={}", uid));
    mail::rec_append(file, mail::rec::attr, "requeue=1");
    if (env->attr("smtputf8") == "yes") mail::rec_append(file, mail::rec::attr, "smtputf8=yes");
    mail::rec_append(file, mail::rec::sender, env->sender);
    for (const auto& r : env->recipients)
        if (!r.done) mail::rec_append(file, mail::rec::rcpt, r.address);
    mail::rec_append(file, mail::rec::message, "");
    // The fields cleanup put on top (P records) become header lines.
    for (const auto& field : env->prepended) mail::rec_append_field(file, field);
    file.append(bytes->substr(env->content_offset, env->content_end - env->content_offset));
    mail::rec_append(file, mail::rec::content_end, "");
    mail::rec_append(file, mail::rec::end, "");
    std::string new_id = mail::new_queue_id();
    std::string dir = queue.dir(mail::Queue::maildrop);
    {
        // Root writes into mail_owner's maildrop as mail_owner: the file is
        // born theirs, and nothing is chowned by a name they control.
        std::optional<util::ActAs> as_owner;
        if (owner) {
            auto a = util::ActAs::begin(owner->uid, owner->gid);
            if (!a) {
                util::msg_warn("{}", a.error().text);
                return false;
            }
            as_owner.emplace(std::move(*a));
        }
        if (auto w = util::create_file_durable(dir, new_id, {file}, 0644); !w) {
            util::msg_warn("{}", w.error().text);
            return false;
        }
    }
    if (::unlink(path.c_str()) < 0) {
        // Keep one copy: the old file is still there, so drop the new one.
        ::unlink(queue.path(mail::Queue::maildrop, new_id).c_str());
        return false;
    }
    util::msg_info("{}: requeued as {}", id, new_id);
    return true;
}

// postsuper's MAX_TEMP_AGE: a temporary file this old has no writer left.
constexpr time_t kMaxTempAge = 60 * 60 * 24;

bool temporary_name(const std::string& n) { return n.size() > 5 && n.starts_with(".") && n.ends_with(".tmp"); }

size_t purge_temporary_files(const mail::QueueDir& queue, time_t now) {
    size_t purged = 0;
    for (mail::Queue q : {mail::Queue::maildrop, mail::Queue::incoming, mail::Queue::active, mail::Queue::deferred,
                          mail::Queue::hold}) {
        std::string dir = queue.dir(q);
        DIR* d = ::opendir(dir.c_str());
        if (d == nullptr) continue;
        std::vector<std::string> names;
        while (struct dirent* e = ::readdir(d))
            if (temporary_name(e->d_name)) names.push_back(e->d_name);
        ::closedir(d);
        for (const auto& n : names) {
            std::string path = dir + "/" + n;
            struct stat st {};
            if (::lstat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_mtime + kMaxTempAge > now) continue;
            if (::unlink(path.c_str()) == 0) {
                util::msg_info("removed temporary file {}", path);
                ++purged;
            } else if (errno != ENOENT) {
                util::msg_warn("remove {}: {}", path, std::strerror(errno));
            }
        }
    }
    return purged;
}

// The forced-expiration mark, set through the file's own descriptor.
bool mark_expired(const std::string& path) {
    auto fd = util::open_regular(path);
    struct stat st {};
    if (!fd || ::fstat(fd->get(), &st) < 0) {
        util::msg_warn("{}", fd ? "fstat " + path + ": " + std::strerror(errno) : fd.error().text);
        return false;
    }
    if (::fchmod(fd->get(), (st.st_mode & 07777) | mail::kForcedExpireMode) < 0) {
        util::msg_warn("fchmod {}: {}", path, std::strerror(errno));
        return false;
    }
    return true;
}

// ALL: every message in `queues`, each acted on once. qmgr moves mail
// from deferred/ to active/ and back while we look, so one listing of the
// queues can miss a message that moved behind it: active/ is listed again
// after deferred/, and the listing is repeated until a pass finds nothing
// left (at most kMaxSweeps). -r (repeat false) gives each message a new id
// that a second pass would requeue again: one pass.
constexpr int kMaxSweeps = 5;

size_t sweep_all(const mail::QueueDir& queue, const std::vector<mail::Queue>& queues, bool repeat,
                 const std::function<bool(mail::Queue, const std::string&)>& act) {
    std::vector<mail::Queue> order = queues;
    if (std::ranges::find(queues, mail::Queue::active) != queues.end()) order.push_back(mail::Queue::active);
    std::set<std::string> handled;
    size_t count = 0;
    for (int pass = 0; pass < (repeat ? kMaxSweeps : 1); ++pass) {
        bool left = false;
        for (mail::Queue q : order)
            for (const auto& id : queue.list(q)) {
                if (handled.contains(id)) continue;  // -f moved it from hold to deferred
                if (!repeat) handled.insert(id);
                left = true;
                if (act(q, id)) {
                    handled.insert(id);
                    ++count;
                }
            }
        if (!left) break;
    }
    return count;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = mail::default_config_dir();
    char op = 0;
    std::string target;
    std::optional<mail::Queue> only;
    bool purge = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc) {
            dir = argv[++i];
        } else if (a == "-p") {
            purge = true;
        } else if ((a == "-d" || a == "-h" || a == "-H" || a == "-r" || a == "-e" || a == "-f") && i + 1 < argc &&
                   op == 0) {
            op = a[1];
            target = argv[++i];
        } else if (a == "-s" && op == 0) {
            op = 's';
        } else if (op != 0 && op != 's' && !only) {
            only = mail::parse_queue(a);
            if (!only) usage();
        } else {
            usage();
        }
    }
    if (op == 0 && !purge) usage();
    if (sodium_init() < 0) return EX_SOFTWARE;
    auto cfg = mail::Config::load(dir);
    if (!cfg) {
        fmt::print(stderr, "kurir-super: fatal: {}\n", cfg.error().text);
        return EX_CONFIG;
    }
    auto log = mail::log_setup(*cfg, "kurir-super");
    if (!log) util::tool_fatal("kurir-super", 78, log.error().text);  // EX_CONFIG
    util::log_init(*log);
    mail::QueueDir queue(cfg->str("queue_directory"));
    if (::access(queue.dir(mail::Queue::incoming).c_str(), R_OK | W_OK | X_OK) < 0) {
        fmt::print(stderr, "kurir-super: fatal: {}: permission denied (root only)\n", queue.root());
        return EX_NOPERM;
    }
    std::optional<Owner> owner;
    if (util::running_as_root())
        if (auto acct = util::find_account(cfg->str("mail_owner"))) owner = Owner{acct->uid, acct->gid};

    if (purge) {
        size_t n = purge_temporary_files(queue, std::time(nullptr));
        fmt::print(stderr, "kurir-super: Purged: {} temporary file{}\n", n, n == 1 ? "" : "s");
        if (op == 0) return 0;
    }

    if (op == 's') {
        size_t fixed = 0;
        // Names that are no queue id (nor a writer's ".ID.tmp") are put aside
        // in corrupt/, where nothing will take them for mail.
        for (mail::Queue q : {mail::Queue::maildrop, mail::Queue::incoming, mail::Queue::active,
                              mail::Queue::deferred, mail::Queue::hold}) {
            DIR* d = ::opendir(queue.dir(q).c_str());
            if (d == nullptr) continue;
            std::vector<std::string> strays;
            while (struct dirent* e = ::readdir(d)) {
                std::string n = e->d_name;
                if (n == "." || n == ".." || mail::valid_queue_id(n) || (n.starts_with(".") && n.ends_with(".tmp")))
                    continue;
                strays.push_back(n);
            }
            ::closedir(d);
            for (const auto& n : strays) {
                std::string from = queue.dir(q) + "/" + n;
                std::string to = queue.dir(mail::Queue::corrupt) + "/" + std::string(mail::queue_name(q)) + "-" + n;
                if (::rename(from.c_str(), to.c_str()) == 0) {
                    util::msg_warn("{}: not a queue file name; moved to {}", from, to);
                    ++fixed;
                }
            }
        }
        for (mail::Queue q : {mail::Queue::incoming, mail::Queue::active, mail::Queue::deferred, mail::Queue::hold}) {
            for (const auto& id : queue.list(q)) {
                std::string path = queue.path(q, id);
                // Everything goes through one descriptor: a symbolic link,
                // FIFO or device under a queue id name is never followed or
                // opened, but put aside; the owner is fixed with fchown.
                struct stat st {};
                if (::lstat(path.c_str(), &st) < 0) continue;
                util::Result<util::Fd> fd = util::fail(path + ": not a regular file");
                if (S_ISREG(st.st_mode)) fd = util::open_regular(path);  // a device is never opened
                if (!fd) {
                    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) &&
                        queue.move(id, q, mail::Queue::corrupt)) {
                        util::msg_warn("{}: not a regular file; moved to corrupt", path);
                        ++fixed;
                    }
                    continue;
                }
                auto bytes = util::read_all(fd->get(), path);
                if (bytes && !mail::parse_queue_file(*bytes)) {
                    if (queue.move(id, q, mail::Queue::corrupt)) {
                        util::msg_warn("{}: unparseable; moved to corrupt", path);
                        ++fixed;
                    }
                } else if (owner && ::fstat(fd->get(), &st) == 0 && st.st_uid != owner->uid) {
                    // A second name (a hard link mail_owner made to a file
                    // of someone else) is never given away.
                    if (st.st_nlink != 1) {
                        util::msg_warn("{}: {} links; owner left alone", path, st.st_nlink);
                    } else if (::fchown(fd->get(), owner->uid, owner->gid) == 0) {
                        ++fixed;
                    } else {
                        util::msg_warn("fchown {}: {}", path, std::strerror(errno));
                    }
                }
            }
        }
        fmt::print(stderr, "kurir-super: Repaired: {}\n", plural(fixed));
        return 0;
    }

    std::vector<std::string> ids;
    bool all = target == "ALL";
    if (target == "-") {
        for (std::string line; std::getline(std::cin, line);)
            if (!line.empty()) ids.push_back(line);
    } else if (!all) {
        ids.push_back(target);
    }
    std::vector<mail::Queue> queues;
    if (only)
        queues = {*only};
    else if (op == 'H')
        queues = {mail::Queue::hold};
    else if (op == 'h')
        queues = {mail::Queue::incoming, mail::Queue::active, mail::Queue::deferred};
    else if (op == 'e' || op == 'f')
        queues = {mail::Queue::hold, mail::Queue::incoming, mail::Queue::active, mail::Queue::deferred};
    else
        queues = {mail::Queue::maildrop, mail::Queue::incoming, mail::Queue::active, mail::Queue::deferred,
                  mail::Queue::hold};
    std::vector<std::string> ask_now;  // expired messages waiting in deferred/
    auto act = [&](mail::Queue q, const std::string& id) {
        bool done = false;
        if (op == 'd') {
            done = ::unlink(queue.path(q, id).c_str()) == 0;
            if (done) util::msg_info("{}: removed", id);
        } else if (op == 'h') {
            done = static_cast<bool>(queue.move(id, q, mail::Queue::hold));
            if (done) util::msg_info("{}: placed on hold", id);
        } else if (op == 'H') {
            // The release time is set through the file's own descriptor.
            if (auto fd = util::open_regular(queue.path(q, id)); fd)
                (void)::futimens(fd->get(), nullptr);
            else
                util::msg_warn("{}", fd.error().text);
            done = static_cast<bool>(queue.move(id, q, mail::Queue::deferred));
            if (done) util::msg_info("{}: released from hold", id);
        } else if (op == 'r') {
            done = q != mail::Queue::maildrop && requeue(queue, q, id, owner);
        } else if (op == 'e' || op == 'f') {
            done = q != mail::Queue::maildrop && mark_expired(queue.path(q, id));
            if (done) util::msg_info("{}: forced expiration requested", id);
            if (done && op == 'f' && q == mail::Queue::hold) {
                if (auto fd = util::open_regular(queue.path(q, id)); fd) (void)::futimens(fd->get(), nullptr);
                if (queue.move(id, q, mail::Queue::deferred)) {
                    util::msg_info("{}: released from hold", id);
                    ask_now.push_back(id);
                }
            } else if (done && q == mail::Queue::deferred) {
                ask_now.push_back(id);
            }
        }
        return done;
    };
    size_t count = 0;
    if (all) {
        count = sweep_all(queue, queues, op != 'r', act);
    } else {
        // A named message may move between queues while we look (qmgr takes
        // it from deferred/ into active/ and back): look again, a few times.
        for (const auto& id : ids) {
            if (!mail::valid_queue_id(id)) continue;
            bool done = false;
            for (int pass = 0; pass < 5 && !done; ++pass) {
                bool seen = false;
                for (mail::Queue q : queues) {
                    if (!util::exists(queue.path(q, id))) continue;
                    seen = true;
                    if ((done = act(q, id))) break;
                }
                if (!seen && pass > 0) break;
            }
            count += done ? 1 : 0;
        }
    }
    const char* what = op == 'd'   ? "Deleted"
                       : op == 'h' ? "Placed on hold"
                       : op == 'H' ? "Released from hold"
                       : op == 'r' ? "Requeued"
                                   : "Expired";
    fmt::print(stderr, "kurir-super: {}: {}\n", what, plural(count));
    if (op == 'H' || op == 'r') {
        mail::send_trigger(queue, mail::service::pickup, mail::proto::Trigger::Kind::wakeup);
        (void)mail::public_request(queue, mail::service::qmgr,
                                   mail::proto::trigger_bytes({mail::proto::Trigger::Kind::flush, ""}));
    }
    // An expired message is returned at its next attempt: for one that waits
    // in deferred/, that attempt is now (the mail system may be down: then
    // at its next start).
    for (const auto& id : ask_now)
        (void)mail::public_request(queue, mail::service::qmgr,
                                   mail::proto::trigger_bytes({mail::proto::Trigger::Kind::deliver_one, id}));
    return 0;
}
