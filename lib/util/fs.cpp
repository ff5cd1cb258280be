#include "util/fs.hpp"

#include "util/link_order.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

namespace kurir::util {

std::unexpected<Error> fail_errno(const std::string& what) {
    return fail(what + ": " + std::strerror(errno));
}

void Fd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

Result<Fd> open_file(const std::string& path, int flags, int mode) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return fail_errno("open " + path);
    return Fd(fd);
}

namespace {

// All parts with one writev where the kernel takes them at once.
Result<void> write_parts(int fd, std::initializer_list<std::string_view> parts, const std::string& what) {
    std::vector<iovec> iov;
    for (std::string_view part : parts)
        if (!part.empty()) iov.push_back({const_cast<char*>(part.data()), part.size()});
    size_t next = 0;
    while (next < iov.size()) {
        int count = static_cast<int>(std::min<size_t>(iov.size() - next, IOV_MAX));
        ssize_t n = ::writev(fd, iov.data() + next, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? fail_errno("write " + what) : fail("write " + what + ": nothing written");
        auto done = static_cast<size_t>(n);
        while (next < iov.size() && done >= iov[next].iov_len) done -= iov[next++].iov_len;
        if (next < iov.size()) {
            iov[next].iov_base = static_cast<char*>(iov[next].iov_base) + done;
            iov[next].iov_len -= done;
        }
    }
    return {};
}

}  // namespace

Result<void> write_all(int fd, std::string_view data, const std::string& what) {
    return write_parts(fd, {data}, what);
}

Result<std::optional<std::string>> read_all_bounded(int fd, const std::string& what, size_t limit) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("read " + what);
        }
        if (n == 0) return std::optional<std::string>{std::move(out)};
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > limit) return std::optional<std::string>{};
    }
}

Result<std::string> read_all(int fd, const std::string& what) {
    auto r = read_all_bounded(fd, what, std::string().max_size());
    if (!r) return std::unexpected(r.error());
    return std::move(**r);
}

Result<std::string> read_file(const std::string& path) {
    auto fd = open_file(path, O_RDONLY);
    if (!fd) return std::unexpected(fd.error());
    return read_all(fd->get(), path);
}

Result<Fd> open_regular(const std::string& path, int flags) {
    int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno == ELOOP) return fail(path + ": not a regular file");
    if (fd < 0) return fail_errno("open " + path);
    Fd guard(fd);
    struct stat st {};
    if (::fstat(fd, &st) < 0) return fail_errno("fstat " + path);
    if (!S_ISREG(st.st_mode)) return fail(path + ": not a regular file");
    return guard;
}

Result<std::string> read_regular(const std::string& path) {
    auto fd = open_regular(path);
    if (!fd) return std::unexpected(fd.error());
    return read_all(fd->get(), path);
}

Result<void> fsync_dir(const std::string& dir) {
    auto fd = open_file(dir, O_RDONLY | O_DIRECTORY);
    if (!fd) return std::unexpected(fd.error());
    if (::fsync(fd->get()) < 0) return fail_errno("fsync " + dir);
    return {};
}

Result<void> write_file_durable(const std::string& dir, const std::string& name,
                                std::string_view data, int mode) {
    std::string tmp = dir + "/." + name + ".tmp";
    std::string final_path = dir + "/" + name;
    auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (!fd) return std::unexpected(fd.error());
    // A failed write leaves nothing behind (a full disk must not stay full).
    auto discard = [&](std::unexpected<Error> e) {
        ::unlink(tmp.c_str());
        return e;
    };
    if (auto r = write_all(fd->get(), data, tmp); !r) return discard(std::unexpected(r.error()));
    if (::fsync(fd->get()) < 0) return discard(fail_errno("fsync " + tmp));
    if (::rename(tmp.c_str(), final_path.c_str()) < 0) return discard(fail_errno("rename " + tmp));
    return fsync_dir(dir);
}

Result<void> replace_file_durable(const std::string& dir, const std::string& name, std::string_view data) {
    std::string final_path = dir + "/" + name;
    auto old = open_regular(final_path);
    if (!old) return std::unexpected(old.error());
    struct stat st {};
    if (::fstat(old->get(), &st) < 0) return fail_errno("fstat " + final_path);
    std::string tmp = dir + "/." + name + ".tmp";
    ::unlink(tmp.c_str());  // one an earlier editor left behind
    auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (!fd) return std::unexpected(fd.error());
    auto discard = [&](std::unexpected<Error> e) {
        ::unlink(tmp.c_str());
        return e;
    };
    if (::geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0) && ::fchown(fd->get(), st.st_uid, st.st_gid) < 0)
        return discard(fail_errno("fchown " + tmp));
    if (::fchmod(fd->get(), st.st_mode & 07777) < 0) return discard(fail_errno("fchmod " + tmp));
    if (auto r = write_all(fd->get(), data, tmp); !r) return discard(std::unexpected(r.error()));
    if (::fsync(fd->get()) < 0) return discard(fail_errno("fsync " + tmp));
    if (::rename(tmp.c_str(), final_path.c_str()) < 0) return discard(fail_errno("rename " + tmp));
    return fsync_dir(dir);
}

Result<void> sync_entry(const std::string& dir, int fd) {
    int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0 && errno == EACCES) {
        if (::syncfs(fd) < 0) return fail_errno("sync " + dir);
        return {};
    }
    if (d < 0) return fail_errno("open " + dir);
    Fd guard(d);
    if (::fsync(d) < 0) return fail_errno("fsync " + dir);
    return {};
}

bool link_unnamed(int fd, const std::string& path) {
    if (::linkat(fd, "", AT_FDCWD, path.c_str(), AT_EMPTY_PATH) == 0) return true;
    if (errno == EEXIST) return false;
    std::string self = "/proc/self/fd/" + std::to_string(fd);
    return ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0;
}

namespace {

// After the link: synced, or the name removed again, so that a caller that
// reports failure (and is asked again: a 4xx, a deferred delivery) leaves
// no copy behind to be taken for a whole one.
Result<void> sync_or_unlink(const std::string& dir, int fd, LinkOrder order, const std::string& path) {
    auto synced = sync_after_link(dir, fd, order, path);
    if (!synced) ::unlink(path.c_str());
    return synced;
}

}  // namespace

Result<void> create_file_durable_via_temp(const std::string& dir, const std::string& name,
                                          std::initializer_list<std::string_view> parts, int mode,
                                          const std::string& tmp_path) {
    std::string tmp = tmp_path.empty() ? dir + "/." + name + ".tmp" : tmp_path;
    std::string final_path = dir + "/" + name;
    auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (!fd) return std::unexpected(fd.error());
    struct Unlink {
        const std::string& path;
        ~Unlink() { ::unlink(path.c_str()); }
    } unlink_temp{tmp};
    if (auto r = write_parts(fd->get(), parts, tmp); !r) return r;
    LinkOrder order = link_order_of(fd->get());
    if (auto r = sync_before_link(fd->get(), order, tmp); !r) return r;
    if (::link(tmp.c_str(), final_path.c_str()) < 0) return fail_errno("link " + tmp + " to " + final_path);
    ::unlink(tmp.c_str());  // one link again before the sync after the link, which covers both
    return sync_or_unlink(dir, fd->get(), order, final_path);
}

Result<void> create_file_durable(const std::string& dir, const std::string& name,
                                 std::initializer_list<std::string_view> parts, int mode,
                                 const std::string& tmp_path) {
#ifdef O_TMPFILE
    int raw = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (raw < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return fail_errno("create a file in " + dir);
    if (raw >= 0) {
        Fd fd(raw);
        std::string final_path = dir + "/" + name;
        if (auto r = write_parts(fd.get(), parts, final_path); !r) return r;
        LinkOrder order = link_order_of(fd.get());
        if (auto r = sync_before_link(fd.get(), order, final_path); !r) return r;
        if (link_unnamed(fd.get(), final_path)) return sync_or_unlink(dir, fd.get(), order, final_path);
        if (errno == EEXIST) return fail_errno("link " + final_path);
        // No way to name it here (no /proc in a chroot): write it again the
        // portable way.
    }
#endif
    return create_file_durable_via_temp(dir, name, parts, mode, tmp_path);
}

Result<void> open_stdio() {
    for (int fd = 0; fd < 3; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int n = ::open("/dev/null", O_RDWR);
        if (n < 0) return fail_errno("open /dev/null");
        if (n != fd) {
            ::close(n);
            return fail("open /dev/null: got descriptor " + std::to_string(n) + " for " + std::to_string(fd));
        }
    }
    return {};
}

Result<void> make_dirs(const std::string& path, int mode) {
    std::string cur;
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        cur = path.substr(0, pos);
        if (cur.empty()) continue;
        if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST) return fail_errno("mkdir " + cur);
    }
    return {};
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

std::string dirname_of(const std::string& path) {
    // As dirname(1): "a/b/" is in "a", and so is "a//b".
    size_t end = path.find_last_not_of('/');
    if (end == std::string::npos) return path.empty() ? "." : "/";
    size_t slash = path.rfind('/', end);
    if (slash == std::string::npos) return ".";
    size_t last = path.find_last_not_of('/', slash);
    return last == std::string::npos ? "/" : path.substr(0, last + 1);
}

}  // namespace kurir::util
