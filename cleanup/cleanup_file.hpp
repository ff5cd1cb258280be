// The queue file cleanup writes as the message arrives: an unnamed file in
// incoming/ (O_TMPFILE; a temp name where the filesystem has none) that gets
// its name only once it is complete and on disk, and is durable under it
// when commit returns (the promise of util::create_file_durable, written in
// pieces, in util::link_order's order). Dropped unnamed (or its temp name unlinked) when not committed.
#pragma once

#include "util/fs.hpp"
#include "util/result.hpp"

#include <string>
#include <string_view>

namespace kurir::cleanup {

class IncomingFile {
public:
    static util::Result<IncomingFile> create(const std::string& dir, const std::string& name);
    IncomingFile(IncomingFile&&) = default;
    IncomingFile& operator=(IncomingFile&&) = default;
    ~IncomingFile();

    util::Result<void> write(std::string_view bytes);
    util::Result<void> write_at(size_t offset, std::string_view bytes);
    // What was written so far, read back.
    util::Result<std::string> read_all() const;
    // Drops it now, uncommitted (its temp name goes, so another file of
    // the same name can be made: cleanup_milter_edits' edited copy).
    void discard();
    // Its content on disk, then the name dir/name (never replacing a file),
    // then the file and the directory synced (util/link_order.hpp).
    // into: another queue directory of the same file system (hold/) instead
    // of the one it was made in.
    util::Result<void> commit(const std::string& into = {});

private:
    IncomingFile() = default;
    util::Result<void> copy_to_temp();
    util::Fd fd_;
    std::string dir_, name_, tmp_;  // tmp_: the temp name, when not unnamed
    bool committed_ = false;
};

}  // namespace kurir::cleanup
