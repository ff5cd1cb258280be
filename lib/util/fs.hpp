// Files the safe way: RAII descriptors, whole reads and writes that retry,
// durable renames (fsync file, rename, fsync directory).
#pragma once

#include "util/result.hpp"

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
Result<void> fsync_dir(const std::string& dir);
// Write data to dir/name durably: temp file, fsync, rename, fsync dir.
Result<void> write_file_durable(const std::string& dir, const std::string& name,
                                std::string_view data, int mode = 0644);
Result<void> make_dirs(const std::string& path, int mode = 0755);
bool exists(const std::string& path);
std::string dirname_of(const std::string& path);

}  // namespace kurir::util
