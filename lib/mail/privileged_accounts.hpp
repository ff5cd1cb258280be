// The accounts a privilege-separated mail system runs as, and Postfix's
// rule that they stay apart: mail_owner owns the queue, default_privs runs
// commands and writes files named in root's aliases and .forward (and the
// mailboxes of names without an account), setgid_group lets local users
// write the maildrop. None may be root, and no two may share a user or
// group ID, so that what runs as one cannot reach what another holds.
#pragma once

#include "mail/config.hpp"
#include "util/privilege.hpp"
#include "util/result.hpp"

#include <string>

namespace kurir::mail {

struct PrivilegedAccounts {
    util::Account mail_owner;
    util::Account default_privs;
    std::string setgid_group;
    gid_t setgid_gid = 0;
};

// Postfix's check_overlap and its "privileged user ID" checks, over
// accounts already looked up; main_cf names the file in the error.
util::Result<void> check_account_overlap(const PrivilegedAccounts& a, const std::string& main_cf);

// Looks up mail_owner, default_privs and setgid_group and checks them as
// above: what master and "kurir start" do as root before anything runs.
util::Result<PrivilegedAccounts> find_privileged_accounts(const Config& cfg);

// The default_privs account, or an error that names the missing user.
util::Result<util::Account> default_privs_account(const Config& cfg);

}  // namespace kurir::mail
