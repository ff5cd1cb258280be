// Users and privileges: look up accounts, drop root for good.
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

#include <optional>
#include <string>

namespace kurir::util {

struct Account {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string home;
    std::string shell;
};

std::optional<Account> find_account(const std::string& name);
std::optional<Account> find_account(uid_t uid);
std::optional<gid_t> find_group(const std::string& name);
// setgroups, setgid, setuid; verifies root cannot be regained.
Result<void> drop_privileges(uid_t uid, gid_t gid);
bool running_as_root();

}  // namespace kurir::util
