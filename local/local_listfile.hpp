// Reading a .forward or :include: file with the rights local has at the
// moment (the caller has already switched to the user): the name is opened
// with O_NOFOLLOW and O_NONBLOCK, so that neither a symbolic link nor a FIFO
// put in its place can redirect or hang delivery, and the descriptor, not
// the name, is checked: a regular file, not writable by the modes in
// forbidden_mode, owned by owner (or root) when owner is set, at most
// max_size bytes.
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

#include <optional>
#include <string>

namespace kurir::local {

struct ListFileRules {
    std::optional<uid_t> owner;  // the owner it must have (root is also accepted)
    mode_t forbidden_mode;       // e.g. S_IWOTH, or S_IWGRP | S_IWOTH
    size_t max_size = 1 << 20;
};

// The file's text; nullopt when there is no such file (ENOENT, ENOTDIR);
// an error that names the file for anything else.
util::Result<std::optional<std::string>> read_list_file(const std::string& path, const ListFileRules& rules);

}  // namespace kurir::local
