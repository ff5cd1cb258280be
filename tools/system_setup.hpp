// What kurir check and kurir start do as root before the mail system runs,
// as Postfix's post-install create-missing and set-permissions: the
// mail_owner account and the set-gid group created when missing, and the
// set-gid programs (kurir-drop, kurir-queue) given back their group and mode.
// The queue directories are mail::QueueDir::create_layout's.
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace kurir::tools {

// Runs a program (no shell, looked up in PATH) and waits for it; an error
// says how it ended when that was not exit status 0.
util::Result<void> run_program(const std::vector<std::string>& args);

// Creates a system account of that name (its own group, no home, no login
// shell) with useradd when missing.
util::Result<void> ensure_system_user(const std::string& name);

// Creates the group setgid_group and the user mail_owner (a system account
// with its own group, no home, no login shell) when missing, with groupadd
// and useradd. "init" makes its instance's accounts with it too.
util::Result<void> ensure_system_accounts(const std::string& mail_owner, const std::string& setgid_group);

// Makes path owned by root and group, mode 2755, unless it is already:
// opened without following a symbolic link and without blocking, changed
// through the descriptor (fchown, then fchmod: fchown clears the set-gid
// bit). Returns what it changed ("" when nothing); an error when path is
// not a regular file.
util::Result<std::string> repair_setgid_program(const std::string& path, gid_t group);

}  // namespace kurir::tools
