#include "util/link_order.hpp"

#include "util/fs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <time.h>

#include <climits>
#include <ctime>
#include <string>

namespace kurir::util {

std::string block_device_name(std::string_view sysfs_target) {
    while (!sysfs_target.empty() && sysfs_target.back() == '/') sysfs_target.remove_suffix(1);
    size_t slash = sysfs_target.rfind('/');
    std::string_view device = slash == std::string_view::npos ? sysfs_target : sysfs_target.substr(slash + 1);
    if (device.empty() || device == "." || device == "..") return {};
    return std::string(device);
}

bool ext4_options_order_commits(std::string_view options) {
    while (!options.empty()) {
        size_t nl = options.find('\n');
        std::string_view option = options.substr(0, nl);
        if (option == "journal_async_commit" || option == "nobarrier" || option == "barrier=0") return false;
        if (nl == std::string_view::npos) break;
        options.remove_prefix(nl + 1);
    }
    return true;
}

namespace {

// The answer for a filesystem, kept a few seconds: asking costs /sys and
// /proc lookups (~17 µs), twice per message. A filesystem is known by its
// device and its id, so another one mounted on the same device in that
// time is asked about anew.
struct RememberedOrder {
    dev_t device = 0;
    fsid_t id {};
    LinkOrder order = LinkOrder::fsync_first;
    time_t until = 0;
};
constexpr time_t kRememberSeconds = 10;

bool same_id(const fsid_t& a, const fsid_t& b) { return a.__val[0] == b.__val[0] && a.__val[1] == b.__val[1]; }

LinkOrder ask_link_order(const struct stat& st);

}  // namespace

LinkOrder link_order_of(int fd) {
    struct statfs fs {};
    if (::fstatfs(fd, &fs) < 0 || fs.f_type != EXT4_SUPER_MAGIC) return LinkOrder::fsync_first;
    struct stat st {};
    if (::fstat(fd, &st) < 0) return LinkOrder::fsync_first;
    thread_local RememberedOrder remembered[4];  // a process writes on one or two filesystems
    struct timespec clock {};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &clock);  // no jump back with the wall clock
    const time_t now = clock.tv_sec;
    RememberedOrder* slot = &remembered[0];
    for (auto& r : remembered) {
        if (r.until > now && r.device == st.st_dev && same_id(r.id, fs.f_fsid)) return r.order;
        if (r.until < slot->until) slot = &r;
    }
    *slot = {st.st_dev, fs.f_fsid, ask_link_order(st), now + kRememberSeconds};
    return slot->order;
}

namespace {

LinkOrder ask_link_order(const struct stat& st) {
    std::string sysfs =
        "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
    char target[PATH_MAX];
    ssize_t n = ::readlink(sysfs.c_str(), target, sizeof target - 1);
    if (n <= 0) return LinkOrder::fsync_first;
    std::string device = block_device_name(std::string_view(target, static_cast<size_t>(n)));
    if (device.empty()) return LinkOrder::fsync_first;
    struct stat js {};
    if (::stat(("/proc/fs/jbd2/" + device + "-8").c_str(), &js) < 0 || !S_ISDIR(js.st_mode))
        return LinkOrder::fsync_first;
    auto options = read_regular("/proc/fs/ext4/" + device + "/options");
    if (!options || !ext4_options_order_commits(*options)) return LinkOrder::fsync_first;
    return LinkOrder::journal;
}

}  // namespace

Result<void> sync_before_link(int fd, LinkOrder order, const std::string& what) {
    if (order == LinkOrder::journal) {
        const unsigned flags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
        if (::sync_file_range(fd, 0, 0, flags) < 0) return fail_errno("write out " + what);
        return {};
    }
    if (::fsync(fd) < 0) return fail_errno("fsync " + what);
    return {};
}

Result<void> sync_after_link(const std::string& dir, int fd, LinkOrder order, const std::string& what) {
    if (order == LinkOrder::fsync_first) return sync_entry(dir, fd);
    if (::fsync(fd) < 0) return fail_errno("fsync " + what);
    return {};
}

}  // namespace kurir::util
