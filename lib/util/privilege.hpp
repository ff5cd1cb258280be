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

// The group privilege of a set-gid program (kurir-drop, kurir-queue), held
// only around what needs it: begin() records the set-gid group and lowers
// the effective gid to the real one at once (the saved set-gid keeps it);
// raise()/lower() bracket the one write or connect that needs the group;
// drop() gives it up for good (setresgid to the real gid). A program that
// is not set-gid (egid == gid at start) never holds anything.
class SetgidPrivilege {
public:
    static Result<SetgidPrivilege> begin();
    bool held() const { return held_; }
    gid_t group() const { return group_; }
    Result<void> raise() const;
    Result<void> lower() const;
    Result<void> drop();

private:
    SetgidPrivilege(gid_t real, gid_t group, bool held) : real_(real), group_(group), held_(held) {}
    gid_t real_;
    gid_t group_;
    bool held_;
};

// Root acting as uid:gid (the effective ids only) for the guard's lifetime,
// and root again after it: for root making files in a directory another
// user owns, so that what it makes is that user's without a chown by name.
class ActAs {
public:
    static Result<ActAs> begin(uid_t uid, gid_t gid);
    ActAs(const ActAs&) = delete;
    ActAs& operator=(const ActAs&) = delete;
    ActAs(ActAs&& o) noexcept : active_(o.active_), gid_(o.gid_) { o.active_ = false; }
    ActAs& operator=(ActAs&&) = delete;
    ~ActAs();

private:
    ActAs(gid_t old_gid) : active_(true), gid_(old_gid) {}
    bool active_;
    gid_t gid_;
};

}  // namespace kurir::util
