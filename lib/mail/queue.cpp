#include "mail/queue.hpp"

#include "util/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace kurir::mail {
namespace {
constexpr std::string_view kAlphabet = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";

void encode(std::string& out, unsigned long v, int width) {
    std::string digits(static_cast<size_t>(width), '0');
    for (int i = width - 1; i >= 0; --i) {
        digits[static_cast<size_t>(i)] = kAlphabet[v % 52];
        v /= 52;
    }
    out += digits;
}
}  // namespace

std::string_view queue_name(Queue q) {
    switch (q) {
        case Queue::maildrop: return "maildrop";
        case Queue::incoming: return "incoming";
        case Queue::active: return "active";
        case Queue::deferred: return "deferred";
        case Queue::hold: return "hold";
        case Queue::corrupt: return "corrupt";
    }
    return "?";
}

std::optional<Queue> parse_queue(std::string_view name) {
    for (Queue q : kAllQueues)
        if (queue_name(q) == name) return q;
    return std::nullopt;
}

std::string queue_id_at(long seconds, long micros, std::string_view random5) {
    std::string id;
    encode(id, static_cast<unsigned long>(seconds), 6);
    encode(id, static_cast<unsigned long>(micros), 4);
    id += random5;
    return id;
}

std::string new_queue_id() {
    struct timeval tv {};
    ::gettimeofday(&tv, nullptr);
    // One call for the random part (a getrandom each, with randombytes_uniform);
    // bytes from 208 up are skipped, so that each letter is equally likely.
    std::string random;
    unsigned char pool[16];
    while (random.size() < 5) {
        randombytes_buf(pool, sizeof pool);
        for (unsigned char b : pool)
            if (b < 4 * 52 && random.size() < 5) random += kAlphabet[b % 52];
    }
    return queue_id_at(tv.tv_sec, tv.tv_usec, random);
}

bool valid_queue_id(std::string_view id) {
    if (id.size() != 15) return false;
    return std::all_of(id.begin(), id.end(),
                       [](char c) { return kAlphabet.find(c) != std::string_view::npos; });
}

std::string QueueDir::dir(Queue q) const { return root_ + "/" + std::string(queue_name(q)); }

std::string QueueDir::path(Queue q, std::string_view id) const {
    return dir(q) + "/" + std::string(id);
}

std::string QueueDir::private_socket(std::string_view service) const {
    return root_ + "/private/" + std::string(service);
}

std::string QueueDir::public_socket(std::string_view service) const {
    return root_ + "/public/" + std::string(service);
}

std::string QueueDir::pid_file() const { return root_ + "/pid/master.pid"; }

util::Result<void> QueueDir::move(std::string_view id, Queue from, Queue to) const {
    std::string src = path(from, id), dst = path(to, id);
    if (::rename(src.c_str(), dst.c_str()) < 0) return util::fail_errno("rename " + src + " to " + dst);
    return {};
}

std::vector<std::string> QueueDir::list(Queue q) const {
    std::vector<std::string> ids;
    DIR* d = ::opendir(dir(q).c_str());
    if (d == nullptr) return ids;
    while (struct dirent* e = ::readdir(d))
        if (valid_queue_id(e->d_name)) ids.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::optional<Queue> QueueDir::find(std::string_view id) const {
    if (!valid_queue_id(id)) return std::nullopt;
    for (Queue q : kAllQueues)
        if (util::exists(path(q, id))) return q;
    return std::nullopt;
}

util::Result<void> QueueDir::create_layout(const std::optional<Owner>& owner) const {
    if (auto r = util::make_dirs(root_, 0755); !r) return r;
    // Everything below is changed through descriptors (fchown, fchmod), and
    // each entry is opened with O_NOFOLLOW: root never follows a symbolic
    // link that the mail_owner (who owns the queues) put in its place.
    util::Fd top(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!top) return util::fail_errno("open " + root_);
    // As Postfix's postfix-files: queue_directory and pid/ are root's (the
    // caller's: an owner is given by root), mode 755; the queues and private/
    // the mail_owner's, 700; maildrop/ and public/ the mail_owner's with the
    // set-gid group, 1730 and 710.
    const uid_t self = ::geteuid();
    if (owner) {
        if (::fchown(top.get(), self, static_cast<gid_t>(-1)) < 0) return util::fail_errno("chown " + root_);
        if (::fchmod(top.get(), 0755) < 0) return util::fail_errno("chmod " + root_);
    }
    struct Dir {
        std::string name;
        mode_t mode;
        bool drop_group;
        bool root_owned;
    };
    std::vector<Dir> dirs;
    for (Queue q : kAllQueues)
        dirs.push_back({std::string(queue_name(q)), q == Queue::maildrop ? mode_t(owner ? 01730 : 0700) : mode_t(0700),
                        q == Queue::maildrop, false});
    dirs.push_back({"private", 0700, false, false});
    dirs.push_back({"public", mode_t(owner ? 0710 : 0700), true, false});
    dirs.push_back({"pid", 0755, false, true});
    for (const auto& d : dirs) {
        std::string path = root_ + "/" + d.name;
        if (::mkdirat(top.get(), d.name.c_str(), d.mode) < 0 && errno != EEXIST)
            return util::fail_errno("mkdir " + path);
        util::Fd fd(::openat(top.get(), d.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return util::fail_errno("open " + path);
        if (owner) {
            uid_t uid = d.root_owned ? self : owner->uid;
            gid_t gid = d.root_owned ? static_cast<gid_t>(-1) : d.drop_group ? owner->drop_gid : owner->gid;
            if (::fchown(fd.get(), uid, gid) < 0) return util::fail_errno("chown " + path);
        }
        if (::fchmod(fd.get(), d.mode) < 0) return util::fail_errno("chmod " + path);
    }
    return {};
}

}  // namespace kurir::mail
