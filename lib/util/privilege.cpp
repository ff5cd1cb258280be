#include "util/privilege.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace kurir::util {
namespace {
std::optional<Account> from_passwd(struct passwd* pw) {
    if (pw == nullptr) return std::nullopt;
    return Account{pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_dir ? pw->pw_dir : "",
                   pw->pw_shell ? pw->pw_shell : ""};
}
}  // namespace

std::optional<Account> find_account(const std::string& name) {
    struct passwd pw {};
    struct passwd* out = nullptr;
    std::vector<char> buf(16384);
    if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &out) != 0) return std::nullopt;
    return from_passwd(out);
}

std::optional<Account> find_account(uid_t uid) {
    struct passwd pw {};
    struct passwd* out = nullptr;
    std::vector<char> buf(16384);
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &out) != 0) return std::nullopt;
    return from_passwd(out);
}

std::optional<gid_t> find_group(const std::string& name) {
    struct group gr {};
    struct group* out = nullptr;
    std::vector<char> buf(16384);
    if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &out) != 0 || out == nullptr)
        return std::nullopt;
    return out->gr_gid;
}

Result<void> drop_privileges(uid_t uid, gid_t gid) {
    if (::geteuid() != 0) {
        if (::geteuid() == uid) return {};
        return fail("drop privileges: not running as root");
    }
    if (::setgroups(1, &gid) < 0) return fail_errno("setgroups");
    if (::setgid(gid) < 0) return fail_errno("setgid");
    if (::setuid(uid) < 0) return fail_errno("setuid");
    if (uid != 0 && ::setuid(0) == 0) return fail("drop privileges: root could be regained");
    return {};
}

bool running_as_root() { return ::geteuid() == 0; }

Result<SetgidPrivilege> SetgidPrivilege::begin() {
    gid_t real = ::getgid(), group = ::getegid();
    if (real == group) return SetgidPrivilege(real, group, false);
    if (::setresgid(static_cast<gid_t>(-1), real, static_cast<gid_t>(-1)) < 0) return fail_errno("setegid");
    return SetgidPrivilege(real, group, true);
}

Result<void> SetgidPrivilege::raise() const {
    if (!held_) return fail("set-gid privilege: not held");
    if (::setresgid(static_cast<gid_t>(-1), group_, static_cast<gid_t>(-1)) < 0) return fail_errno("setegid");
    return {};
}

Result<void> SetgidPrivilege::lower() const {
    if (::setresgid(static_cast<gid_t>(-1), real_, static_cast<gid_t>(-1)) < 0) return fail_errno("setegid");
    return {};
}

Result<void> SetgidPrivilege::drop() {
    if (::setresgid(real_, real_, real_) < 0) return fail_errno("setresgid");
    gid_t r, e, sv;
    if (::getresgid(&r, &e, &sv) < 0 || r != real_ || e != real_ || sv != real_)
        return fail("set-gid privilege: still held after setresgid");
    held_ = false;
    return {};
}

Result<ActAs> ActAs::begin(uid_t uid, gid_t gid) {
    gid_t old = ::getegid();
    if (::setegid(gid) < 0) return fail_errno("setegid " + std::to_string(gid));
    if (::seteuid(uid) < 0) {
        auto e = fail_errno("seteuid " + std::to_string(uid));
        (void)::setegid(old);
        return e;
    }
    return ActAs(old);
}

ActAs::~ActAs() {
    if (!active_) return;
    // Regaining the saved root cannot fail; carrying on as the other user
    // when it does would be worse than stopping.
    if (::seteuid(0) < 0 || ::setegid(gid_) < 0) std::abort();
}

}  // namespace kurir::util
