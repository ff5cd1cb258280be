#include "local/local_listfile.hpp"

#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace kurir::local {

util::Result<std::optional<std::string>> read_list_file(const std::string& path, const ListFileRules& rules) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>{};
        if (errno == ELOOP) return util::fail(path + ": is a symbolic link");
        return util::fail_errno("open " + path);
    }
    util::Fd guard(fd);
    struct stat st {};
    if (::fstat(fd, &st) < 0) return util::fail_errno("fstat " + path);
    if (!S_ISREG(st.st_mode)) return util::fail(path + ": not a regular file");
    if (rules.owner && st.st_uid != *rules.owner && st.st_uid != 0)
        return util::fail(path + ": bad owner uid " + std::to_string(st.st_uid));
    if (st.st_mode & rules.forbidden_mode) return util::fail(path + ": writable by others");
    if (static_cast<size_t>(st.st_size) > rules.max_size) return util::fail(path + ": file too large");
    auto out = util::read_all_bounded(fd, path, rules.max_size);
    if (!out) return std::unexpected(out.error());
    if (!*out) return util::fail(path + ": file too large");
    return out;
}

}  // namespace kurir::local
