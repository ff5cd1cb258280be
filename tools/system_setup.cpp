#include "tools/system_setup.hpp"

#include "util/fs.hpp"
#include "util/privilege.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace kurir::tools {

util::Result<void> run_program(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return util::fail_errno("fork");
    if (pid == 0) {
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return util::fail_errno("waitpid " + args[0]);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return util::fail(args[0] + ": cannot run it");
    if (WIFSIGNALED(status)) return util::fail(fmt::format("{}: killed by signal {}", args[0], WTERMSIG(status)));
    return util::fail(fmt::format("{}: exit status {}", args[0], WEXITSTATUS(status)));
}

util::Result<void> ensure_system_user(const std::string& name) {
    if (util::find_account(name)) return {};
    // Its own group, as Postfix's "postfix" user has; one of that name left
    // behind (a user removed without its group) is taken as it is.
    std::vector<std::string> args{"useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                                  "--shell", "/usr/sbin/nologin"};
    if (util::find_group(name))
        args.insert(args.end(), {"--gid", name});
    else
        args.push_back("--user-group");
    args.push_back(name);
    if (auto r = run_program(args); !r) return util::fail("create user " + name + ": " + r.error().text);
    return {};
}

util::Result<void> ensure_system_accounts(const std::string& mail_owner, const std::string& setgid_group) {
    if (!util::find_group(setgid_group)) {
        if (auto r = run_program({"groupadd", "--system", setgid_group}); !r)
            return util::fail("create group " + setgid_group + ": " + r.error().text);
    }
    return ensure_system_user(mail_owner);
}

util::Result<std::string> repair_setgid_program(const std::string& path, gid_t group) {
    auto fd = util::open_regular(path);
    if (!fd) return std::unexpected(fd.error());
    struct stat st {};
    if (::fstat(fd->get(), &st) < 0) return util::fail_errno("fstat " + path);
    const mode_t want = 02755;
    if (st.st_uid == 0 && st.st_gid == group && (st.st_mode & 07777) == want) return std::string();
    if (::fchown(fd->get(), 0, group) < 0) return util::fail_errno("chown " + path);
    if (::fchmod(fd->get(), want) < 0) return util::fail_errno("chmod " + path);
    return fmt::format("{}: owner root, group {}, mode 2755 (was uid {}, gid {}, mode {:04o})", path, group,
                       st.st_uid, st.st_gid, st.st_mode & 07777);
}

}  // namespace kurir::tools
