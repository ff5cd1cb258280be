// In what order a new file's content and its name are made durable.
//
// Everywhere, a file is made under its name only once its content is on
// disk, and the caller says 250 (or "delivered") only after the file and
// its directory entry are synced. Where nothing orders metadata, that takes
// an fsync of the file before the link and one of the directory after it:
// two journal commits, where there is a journal. Where a journal commits
// metadata in order (ext4, or ext3 through it, with its journal), the data
// is written out without a commit (sync_file_range), the name linked, and
// one fsync of the file commits its blocks, its inode and its new name
// together: the link changed the directory and the inode in one journal
// transaction, and the file's fsync commits the inode's last transaction,
// so the directory needs no fsync of its own (one would commit nothing and
// only flush the disk's cache a second time; a unit test checks that on
// the running kernel). An ext4 made with fast_commit (not in its mount
// options, so not told apart) logs the link in the file's fast commit
// with the inode; there the directory's fsync would force a full commit,
// twice the time per file (measured), but the order was not crash-tested.
// A crash before that fsync leaves either no name or the whole file: the
// blocks were written before the link, and the journal never commits the
// link without the allocation that came before it.
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>

namespace kurir::util {

enum class LinkOrder {
    fsync_first,  // fsync the file, link it, fsync the directory
    journal,      // write the data out, link it, fsync the file (which commits the name)
};

// journal when fd's filesystem is ext4 with its journal on its own device
// (/proc/fs/jbd2 names it) and mounted with neither journal_async_commit
// (its commit record is not preceded by a cache flush) nor nobarrier;
// fsync_first for anything else or anything not known (no /proc or /sys,
// as in a chroot). The answer for a filesystem (its device and id) is
// remembered for 10 seconds by the calling thread.
LinkOrder link_order_of(int fd);

// A block device's name, from where /sys/dev/block/MAJOR:MINOR points
// (".../block/sda/sda1" gives "sda1"); empty when target names no device.
// Its jbd2 journal is /proc/fs/jbd2/NAME-8, its mount options are in
// /proc/fs/ext4/NAME/options.
std::string block_device_name(std::string_view sysfs_target);

// Whether ext4 mount options (one a line, as /proc/fs/ext4/NAME/options
// has them) let the journal order data before the name.
bool ext4_options_order_commits(std::string_view options);

// Before the link: fsync (fsync_first), or the data written out and waited
// for (journal). what names the file in errors.
Result<void> sync_before_link(int fd, LinkOrder order, const std::string& what);

// After the link: the file's fsync (journal), or the directory's
// (fsync_first; sync_entry: fsync of dir, or syncfs where dir may not be
// read).
Result<void> sync_after_link(const std::string& dir, int fd, LinkOrder order, const std::string& what);

}  // namespace kurir::util
