#include "cleanup/cleanup_file.hpp"

#include "util/link_order.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace kurir::cleanup {

util::Result<IncomingFile> IncomingFile::create(const std::string& dir, const std::string& name) {
    IncomingFile f;
    f.dir_ = dir;
    f.name_ = name;
#ifdef O_TMPFILE
    int raw = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (raw >= 0) {
        f.fd_.reset(raw);
        return f;
    }
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return util::fail_errno("create a file in " + dir);
#endif
    f.tmp_ = dir + "/." + name + ".tmp";
    auto fd = util::open_file(f.tmp_, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (!fd) {
        f.tmp_.clear();
        return std::unexpected(fd.error());
    }
    f.fd_ = std::move(*fd);
    return f;
}

IncomingFile::~IncomingFile() {
    if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

util::Result<void> IncomingFile::write(std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return util::fail_errno("write " + dir_ + "/" + name_);
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

util::Result<void> IncomingFile::write_at(size_t offset, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::pwrite(fd_.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return util::fail_errno("write " + dir_ + "/" + name_);
        bytes.remove_prefix(static_cast<size_t>(n));
        offset += static_cast<size_t>(n);
    }
    return {};
}

util::Result<std::string> IncomingFile::read_all() const {
    std::string out;
    char buf[65536];
    for (off_t at = 0;;) {
        ssize_t n = ::pread(fd_.get(), buf, sizeof buf, at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return util::fail_errno("read " + dir_ + "/" + name_);
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
        at += n;
    }
}

void IncomingFile::discard() {
    if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
    tmp_.clear();
    fd_.reset();
}

util::Result<void> IncomingFile::copy_to_temp() {
    std::string tmp = dir_ + "/." + name_ + ".tmp";
    auto out = util::open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (!out) return std::unexpected(out.error());
    tmp_ = tmp;  // unlinked by the destructor unless committed
    char buf[65536];
    for (off_t at = 0;;) {
        ssize_t n = ::pread(fd_.get(), buf, sizeof buf, at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return util::fail_errno("read back " + dir_ + "/" + name_);
        if (n == 0) break;
        at += n;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = ::write(out->get(), buf + done, static_cast<size_t>(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return util::fail_errno("write " + tmp);
            done += w;
        }
    }
    if (::fsync(out->get()) < 0) return util::fail_errno("fsync " + tmp);
    fd_ = std::move(*out);
    return {};
}

util::Result<void> IncomingFile::commit(const std::string& into) {
    const std::string& dir = into.empty() ? dir_ : into;
    std::string path = dir + "/" + name_;
    util::LinkOrder order = util::link_order_of(fd_.get());
    if (auto r = util::sync_before_link(fd_.get(), order, path); !r) return r;
    if (tmp_.empty()) {
        if (!util::link_unnamed(fd_.get(), path)) {
            if (errno == EEXIST) return util::fail_errno("link " + path);
            // No way to name an unnamed file here (no /proc in a chroot):
            // copy it the portable way, through a temp name.
            if (auto c = copy_to_temp(); !c) return c;
        }
    }
    if (!tmp_.empty()) {
        if (::link(tmp_.c_str(), path.c_str()) < 0) return util::fail_errno("link " + tmp_ + " to " + path);
        ::unlink(tmp_.c_str());  // one link again before the sync after the link, which covers both
        tmp_.clear();
    }
    if (auto synced = util::sync_after_link(dir, fd_.get(), order, path); !synced) {
        // The client hears 4xx and sends the message again: the name must
        // not stay to have it delivered once more (as Postfix removes a
        // queue file it could not sync).
        ::unlink(path.c_str());
        return synced;
    }
    committed_ = true;
    return {};
}

}  // namespace kurir::cleanup
