// Files the safe way: RAII descriptors, whole reads and writes that retry,
// durable renames (fsync file, rename, fsync directory), durable creation of
// a new name that appears only once its content is on disk.
#pragma once

#include "util/result.hpp"

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace kurir::util {

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

Result<Fd> open_file(const std::string& path, int flags, int mode = 0600);
Result<void> write_all(int fd, std::string_view data, const std::string& what);
Result<std::string> read_file(const std::string& path);
// Opens path as a regular file of its own, for code that runs with more
// privilege than whoever writes the directory (root in a queue directory
// that mail_owner owns): never through a symbolic link (O_NOFOLLOW), never
// blocking on a FIFO or opening a device (O_NONBLOCK, which Linux ignores
// for the regular file fstat then finds; it stays set, saving two fcntls
// per queue file), "PATH: not a regular file" otherwise. Change what it
// names through the descriptor (fchown, futimens), never by path again.
Result<Fd> open_regular(const std::string& path, int flags = 0 /* O_RDONLY */);
// The whole of path, opened with open_regular (a queue file read by a
// process of more privilege than the directory's writer).
Result<std::string> read_regular(const std::string& path);
// The rest of fd's content, read to its end; what names it in errors.
Result<std::string> read_all(int fd, const std::string& what);
// The same from a writer we do not trust: nullopt as soon as fd has given
// more than limit bytes (reading stops there, so we never hold more).
Result<std::optional<std::string>> read_all_bounded(int fd, const std::string& what, size_t limit);
Result<void> fsync_dir(const std::string& dir);
// A name just made in dir made durable: fsync of dir, or, for a directory we
// may write but not read (the maildrop, mode 1730), of the filesystem that
// fd (any file on it) is on.
Result<void> sync_entry(const std::string& dir, int fd);
// Write data to dir/name durably: temp file, fsync, rename, fsync dir.
Result<void> write_file_durable(const std::string& dir, const std::string& name,
                                std::string_view data, int mode = 0644);
// Replace the existing file dir/name with data durably (temp file, fsync,
// rename, fsync dir), as an editor of a configuration file must: the new
// file keeps the old one's mode, and its owner and group where the caller
// may give them (root). A symbolic link at dir/name is an error.
Result<void> replace_file_durable(const std::string& dir, const std::string& name, std::string_view data);
// Create dir/name holding the parts, one after the other, durably: nobody
// sees the name before the whole content is on disk, the name never replaces
// an existing one, and when this returns the file and its directory entry are
// durable (in util::link_order's order: one journal commit on ext4). On
// Linux the content goes into an unnamed O_TMPFILE inode that is linked in
// once its content is on disk, so a crash leaves no temp file behind; where that
// is not available, into tmp_path (default dir/.name.tmp), linked to the name
// and unlinked. Where the directory needs a sync of its own (not on ext4
// with a journal) and the caller may not read it, it is synced with syncfs.
Result<void> create_file_durable(const std::string& dir, const std::string& name,
                                 std::initializer_list<std::string_view> parts, int mode = 0600,
                                 const std::string& tmp_path = {});
// Give an unnamed O_TMPFILE inode the name path (never replacing one):
// AT_EMPTY_PATH where the kernel lets us, else through /proc (which needs no
// capability). False with errno set otherwise (EEXIST: the name is taken).
bool link_unnamed(int fd, const std::string& path);
// The fallback path of create_file_durable alone (for filesystems without
// O_TMPFILE; callable directly so that tests cover it).
Result<void> create_file_durable_via_temp(const std::string& dir, const std::string& name,
                                          std::initializer_list<std::string_view> parts, int mode,
                                          const std::string& tmp_path = {});
// File descriptors 0, 1 and 2 open, on /dev/null where they were closed: a
// program with privilege started without them must not have the next file
// it opens taken for its standard input or its error messages. First thing
// in main of kurir-drop and kurir-queue, as Postfix's set-gid programs do.
Result<void> open_stdio();
Result<void> make_dirs(const std::string& path, int mode = 0755);
bool exists(const std::string& path);
std::string dirname_of(const std::string& path);

}  // namespace kurir::util
