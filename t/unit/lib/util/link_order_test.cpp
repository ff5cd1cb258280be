#include "util/link_order.hpp"

#include "test_util.hpp"
#include "util/fs.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

using namespace kurir;
namespace kt = kurir::test;

namespace {

// An ext4 filesystem in an image file, mounted through a loop device for
// the test's lifetime (root only; mounted() is false where that cannot be).
class Ext4Mount {
public:
    Ext4Mount(const kt::TempDir& tmp, const std::string& name, bool journal, const std::string& options = "")
        : image_(tmp / (name + ".img")) {
        point_ = tmp / name;
        ::mkdir(point_.c_str(), 0755);
        std::string features = journal ? "" : " -O ^has_journal";
        std::string opts = options.empty() ? "loop" : "loop," + options;
        // Inode tables and journal made at once: no background writing
        // (ext4lazyinit) to commit while a test counts commits.
        std::string make = "truncate -s 32M " + image_ + " && mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0" +
                           features + " " + image_ +
                           " >/dev/null 2>&1 && mount -o " + opts + " " + image_ + " " + point_ + " 2>/dev/null";
        mounted_ = std::system(make.c_str()) == 0;
    }
    ~Ext4Mount() {
        if (mounted_) ::umount2(point_.c_str(), MNT_DETACH);
    }
    bool mounted() const { return mounted_; }
    const std::string& point() const { return point_; }

private:
    std::string image_;
    std::string point_;
    bool mounted_ = false;
};

// The sync and link calls create_file_durable makes in dir, in order: this
// test program run again under strace for the hidden case below.
std::vector<std::string> traced_calls(const std::string& strace, const std::string& dir) {
    std::string out = dir + ".trace";
    // LeakSanitizer cannot work under ptrace: off in the traced child of
    // the sanitized build (the parent still checks for leaks).
    std::string run = "ASAN_OPTIONS=detect_leaks=0 KURIR_LINK_ORDER_DIR=" + dir + " " + strace +
                      " -f -qq -e trace=fsync,fdatasync,sync_file_range,linkat,link,rename,readlink,readlinkat -o " +
                      out +
                      " /proc/" + std::to_string(::getpid()) + "/exe '[link_order_traced]' >/dev/null 2>&1";
    std::vector<std::string> calls;
    if (std::system(run.c_str()) != 0) return {"strace or the child failed"};
    std::string text = kt::slurp(out);
    for (size_t at = 0; at < text.size();) {
        size_t nl = text.find('\n', at);
        std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        at = nl == std::string::npos ? text.size() : nl + 1;
        size_t name = line.find_first_not_of("0123456789 ");  // strace -f puts the pid first
        size_t paren = line.find('(', name);
        if (name == std::string::npos || paren == std::string::npos) continue;
        std::string call = line.substr(name, paren - name);
        if (call.starts_with("readlink")) {  // link_order_of's look in /sys only, not the loader's
            if (line.find("/sys/dev/block/") == std::string::npos) continue;
            call = "readlink";
        }
        calls.push_back(call);
    }
    return calls;
}

util::LinkOrder order_in(const std::string& dir) {
    util::Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fd.get() >= 0);
    return util::link_order_of(fd.get());
}

}  // namespace

TEST_CASE("block_device_name is the last part of the sysfs link", "[link_order]") {
    CHECK(util::block_device_name("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1") == "vda1");
    CHECK(util::block_device_name("../../devices/virtual/block/dm-0") == "dm-0");
    CHECK(util::block_device_name("../../devices/virtual/block/loop3/") == "loop3");
    CHECK(util::block_device_name("sda2") == "sda2");
    CHECK(util::block_device_name("").empty());
    CHECK(util::block_device_name("/").empty());
    CHECK(util::block_device_name("../..").empty());
}

TEST_CASE("ext4 mount options that let a commit reach the disk before its data", "[link_order]") {
    CHECK(util::ext4_options_order_commits("rw\nbarrier\ndelalloc\ndata=ordered\n"));
    CHECK(util::ext4_options_order_commits("rw\ndata=writeback\n"));  // the data is waited for before the link
    CHECK_FALSE(util::ext4_options_order_commits("rw\njournal_async_commit\ndata=writeback\n"));
    CHECK_FALSE(util::ext4_options_order_commits("rw\nnobarrier\n"));
    CHECK_FALSE(util::ext4_options_order_commits("rw\nbarrier=0"));
    CHECK(util::ext4_options_order_commits("journal_async_commitx\n"));  // whole lines only
}

TEST_CASE("link_order_of: fsync first where no ext4 journal orders metadata", "[link_order]") {
    // /dev/shm is tmpfs, /proc is not a block filesystem at all.
    if (kt::is_dir("/dev/shm")) CHECK(order_in("/dev/shm") == util::LinkOrder::fsync_first);
    CHECK(order_in("/proc") == util::LinkOrder::fsync_first);
}

TEST_CASE("link_order_of tells ext4 with a journal from ext4 without", "[link_order]") {
    if (::geteuid() != 0) {
        WARN("not root: no loop mount, link_order_of on ext4 not tested");
        return;
    }
    kt::TempDir tmp;
    Ext4Mount with(tmp, "j", true), without(tmp, "nj", false);
    Ext4Mount async(tmp, "aj", true, "data=writeback,journal_async_commit");
    if (!with.mounted() || !without.mounted() || !async.mounted()) {
        WARN("cannot make and loop-mount ext4 here: link_order_of on ext4 not tested");
        return;
    }
    CHECK(order_in(with.point()) == util::LinkOrder::journal);
    CHECK(order_in(without.point()) == util::LinkOrder::fsync_first);
    CHECK(order_in(async.point()) == util::LinkOrder::fsync_first);
    // The calls, in their order, as strace sees this very program make them
    // (the hidden test case below, run in a child under strace).
    if (const char* strace = "/usr/bin/strace"; ::access(strace, X_OK) == 0) {
        // Two files: the filesystem is looked up (readlink in /sys) for
        // the first only.
        CHECK(traced_calls(strace, with.point()) ==
              std::vector<std::string>{"readlink", "sync_file_range", "linkat", "fsync", "sync_file_range", "linkat",
                                       "fsync"});
        CHECK(traced_calls(strace, without.point()) ==
              std::vector<std::string>{"readlink", "fsync", "linkat", "fsync", "fsync", "linkat", "fsync"});
    } else {
        WARN("no strace here: the order of the calls not checked");
    }
    // Either way the file is made whole under its name, and never twice.
    for (const auto* m : {&with, &without}) {
        REQUIRE(util::create_file_durable(m->point(), "f", {"one ", "two\n"}));
        CHECK(kt::slurp(m->point() + "/f") == "one two\n");
        CHECK_FALSE(util::create_file_durable(m->point(), "f", {"again\n"}));
        REQUIRE(util::create_file_durable_via_temp(m->point(), "g", {"three\n"}, 0600));
        CHECK(kt::slurp(m->point() + "/g") == "three\n");
        auto names = kt::dir_entries(m->point());
        std::sort(names.begin(), names.end());
        // f, g, lost+found, and the traced child's files: no temp left
        CHECK(names == std::vector<std::string>{"f", "g", "lost+found", "traced", "traced2"});
    }
}

// What the journal order leaves out rests on this: after the file's fsync
// the new name is committed, so an fsync of the directory then commits
// nothing (jbd2 counts its commits). Were it otherwise on some kernel, the
// directory would need its fsync back.
TEST_CASE("link_order: on ext4 with a journal the file's fsync commits its new name", "[link_order]") {
    if (::geteuid() != 0) {
        WARN("not root: no loop mount, the journal's commits not checked");
        return;
    }
    kt::TempDir tmp;
    Ext4Mount with(tmp, "j", true);
    if (!with.mounted()) {
        WARN("cannot make and loop-mount ext4 here: the journal's commits not checked");
        return;
    }
    REQUIRE(order_in(with.point()) == util::LinkOrder::journal);
    struct stat st {};
    REQUIRE(::stat(with.point().c_str(), &st) == 0);
    char target[PATH_MAX];
    std::string sysfs = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
    ssize_t n = ::readlink(sysfs.c_str(), target, sizeof target - 1);
    REQUIRE(n > 0);
    std::string info = "/proc/fs/jbd2/" + util::block_device_name(std::string_view(target, size_t(n))) + "-8/info";
    auto commits = [&info] {
        std::string text = kt::slurp(info);  // "9 transactions (9 requested), each up to 2048 blocks"
        return std::stol(text.substr(0, text.find(' ')));
    };
    util::Fd dir(::open(with.point().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(dir.get() >= 0);
    long by_files = 0, by_directory = 0;
    for (int i = 0; i < 20; ++i) {
        long before = commits();
        REQUIRE(util::create_file_durable(with.point(), "f" + std::to_string(i), {"mail\n"}));
        long after_file = commits();
        REQUIRE(::fsync(dir.get()) == 0);
        by_files += after_file - before;
        by_directory += commits() - after_file;
    }
    CHECK(by_files >= 20);  // each create committed
    CHECK(by_directory == 0);
    // And when that fsync fails, the name goes again.
    kt::failed_when_sync_after_link_fails(with.point(), [&] {
        auto r = util::create_file_durable(with.point(), "failed", {"x\n"});
        return r ? std::string() : r.error().text;
    });
    CHECK_FALSE(util::exists(with.point() + "/failed"));
    // The count does see a directory's commit: a name made without any
    // fsync is committed by the directory's.
    util::Fd plain(::open((with.point() + "/plain").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    REQUIRE(plain.get() >= 0);
    long before = commits();
    REQUIRE(::fsync(dir.get()) == 0);
    CHECK(commits() - before == 1);
}

// Run only by the test above, under strace: two files made in the directory
// it names.
TEST_CASE("link_order: two files made for strace to watch", "[.][link_order_traced]") {
    const char* dir = std::getenv("KURIR_LINK_ORDER_DIR");
    REQUIRE(dir != nullptr);
    REQUIRE(util::create_file_durable(dir, "traced", {"watched\n"}));
    REQUIRE(util::create_file_durable(dir, "traced2", {"watched\n"}));
}
