#include "mail/privileged_accounts.hpp"

#include <fmt/format.h>

namespace kurir::mail {

util::Result<void> check_account_overlap(const PrivilegedAccounts& a, const std::string& main_cf) {
    const auto& owner = a.mail_owner;
    const auto& privs = a.default_privs;
    auto fail = [&](const std::string& what) { return util::fail("file " + main_cf + ": " + what); };
    if (owner.uid == 0) return fail(fmt::format("parameter mail_owner: user {} has privileged user ID", owner.name));
    if (owner.gid == 0) return fail(fmt::format("parameter mail_owner: user {} has privileged group ID", owner.name));
    if (privs.uid == 0)
        return fail(fmt::format("parameter default_privs: user {} has privileged user ID", privs.name));
    if (privs.gid == 0)
        return fail(fmt::format("parameter default_privs: user {} has privileged group ID", privs.name));
    if (a.setgid_gid == 0)
        return fail(fmt::format("parameter setgid_group: group {} has privileged group ID", a.setgid_group));
    if (privs.name == owner.name)
        return fail(fmt::format("parameters default_privs and mail_owner specify the same user {}", privs.name));
    if (privs.uid == owner.uid)
        return fail(fmt::format("parameters default_privs and mail_owner: users {} and {} have the same user ID: {}",
                                privs.name, owner.name, owner.uid));
    if (privs.gid == owner.gid)
        return fail(fmt::format("parameters default_privs and mail_owner: users {} and {} have the same group ID: {}",
                                privs.name, owner.name, owner.gid));
    if (privs.gid == a.setgid_gid)
        return fail(fmt::format("parameters default_privs and setgid_group: user {} and group {} have the same "
                                "group ID: {}",
                                privs.name, a.setgid_group, a.setgid_gid));
    if (owner.gid == a.setgid_gid)
        return fail(fmt::format("parameters mail_owner and setgid_group: user {} and group {} have the same "
                                "group ID: {}",
                                owner.name, a.setgid_group, a.setgid_gid));
    return {};
}

util::Result<util::Account> default_privs_account(const Config& cfg) {
    std::string name = cfg.str("default_privs");
    auto account = util::find_account(name);
    if (!account) return util::fail("default_privs " + name + ": no such user");
    return *account;
}

util::Result<PrivilegedAccounts> find_privileged_accounts(const Config& cfg) {
    PrivilegedAccounts a;
    std::string owner = cfg.str("mail_owner");
    auto found = util::find_account(owner);
    if (!found) return util::fail("mail_owner " + owner + ": no such user");
    a.mail_owner = *found;
    auto privs = default_privs_account(cfg);
    if (!privs) return std::unexpected(privs.error());
    a.default_privs = *privs;
    a.setgid_group = cfg.str("setgid_group");
    auto gid = util::find_group(a.setgid_group);
    if (!gid) return util::fail("setgid_group " + a.setgid_group + ": no such group");
    a.setgid_gid = *gid;
    if (auto r = check_account_overlap(a, cfg.config_dir() + "/main.cf"); !r) return std::unexpected(r.error());
    return a;
}

}  // namespace kurir::mail
