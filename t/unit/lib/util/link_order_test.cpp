#include "util/link_order.hpp"

#include "test_util.hpp"
#include "util/fs.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>

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
        std::string make = "truncate -s 32M " + image_ + " && mkfs.ext4 -q -F" + features + " " + image_ +
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
    // Either way the file is made whole under its name, and never twice.
    for (const auto* m : {&with, &without}) {
        REQUIRE(util::create_file_durable(m->point(), "f", {"one ", "two\n"}));
        CHECK(kt::slurp(m->point() + "/f") == "one two\n");
        CHECK_FALSE(util::create_file_durable(m->point(), "f", {"again\n"}));
        REQUIRE(util::create_file_durable_via_temp(m->point(), "g", {"three\n"}, 0600));
        CHECK(kt::slurp(m->point() + "/g") == "three\n");
        CHECK(kt::dir_entries(m->point()).size() == 3);  // f, g, lost+found: no temp left
    }
}
