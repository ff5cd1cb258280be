#include "util/command_run.hpp"

#include "util/fs.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace kurir::util {

std::string CommandOutcome::first_line() const {
    std::string first = output.substr(0, output.find('\n'));
    for (char& c : first)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return first;
}

CommandOutcome run_command(const CommandSpec& spec, std::string_view input) {
    CommandOutcome result;
    auto failed = [&](std::string what) {
        result.started = false;
        result.error = what + ": " + std::strerror(errno);
        return result;
    };
    if (spec.argv.empty()) {
        errno = EINVAL;
        return failed("command");
    }
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) < 0) return failed("pipe");
    if (::pipe2(out, O_CLOEXEC) < 0) {
        int e = errno;
        ::close(in[0]);
        ::close(in[1]);
        errno = e;
        return failed("pipe");
    }
    std::map<std::string, std::string> env{{"PATH", "/usr/bin:/bin"}, {"SHELL", "/bin/sh"}};
    for (const auto& [k, v] : spec.env) env[k] = v;
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<std::string> args = spec.argv;
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::dup2(out[1], 2);
        ::setsid();
        // The daemon's signal set-up is not the command's: a pipeline in a
        // .forward must die of SIGPIPE as it would in a shell.
        ::signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        // Real ids, for good: the command can never get root back.
        if (::getuid() == 0 || ::geteuid() == 0) {
            if (::seteuid(0) < 0) ::_exit(EX_TEMPFAIL);
            if (::setgroups(1, &spec.gid) < 0 || ::setgid(spec.gid) < 0 || ::setuid(spec.uid) < 0) ::_exit(EX_TEMPFAIL);
        }
        if (::chdir(spec.directory.c_str()) < 0 && ::chdir("/") < 0) ::_exit(EX_TEMPFAIL);
        std::vector<char*> envp;
        for (auto& e : env_strings) envp.push_back(e.data());
        envp.push_back(nullptr);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(EX_TEMPFAIL);
    }
    int fork_errno = errno;
    ::close(in[0]);
    ::close(out[1]);
    if (pid < 0) {
        ::close(in[1]);
        ::close(out[0]);
        errno = fork_errno;
        return failed("fork");
    }
    // Feed the input, collect the output and wait for the exit, all within
    // the one limit: a command that closes its output and carries on is
    // still bounded. At the limit its whole process group is killed.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(spec.time_limit);
    std::string& output = result.output;
    size_t written = 0;
    int wfd = in[1], rfd = out[0];
    ::fcntl(wfd, F_SETFL, O_NONBLOCK);
    Fd exit_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));  // readable once the command exits
    bool exited = false;
    int status = 0;
    auto reap = [&] {
        pid_t r;
        while ((r = ::waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) {
        }
        if (r == pid) exited = true;
        return exited;
    };
    while (!exited) {
        // Output is read until EOF or until the command has exited (a
        // background child may keep the pipe open).
        struct pollfd p[3];
        int n = 0, at_r = -1, at_w = -1, at_x = -1;
        if (rfd >= 0) p[at_r = n++] = {rfd, POLLIN, 0};
        if (wfd >= 0) p[at_w = n++] = {wfd, POLLOUT, 0};
        if (exit_fd) p[at_x = n++] = {exit_fd.get(), POLLIN, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = !reap();
            break;
        }
        // Without a pidfd (old kernels), the exit is looked for every 100ms.
        int wait_ms = static_cast<int>(exit_fd ? left.count() : std::min<long>(left.count(), 100));
        if (n > 0 && ::poll(p, static_cast<nfds_t>(n), wait_ms) < 0 && errno != EINTR) break;
        if (n == 0 && !exit_fd) ::poll(nullptr, 0, wait_ms);
        if (at_w >= 0 && (p[at_w].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = ::write(wfd, input.data() + written, input.size() - written);
            if (w > 0) written += static_cast<size_t>(w);
            if (w < 0 && errno != EAGAIN) written = input.size();  // the command stopped reading
            if (written == input.size()) {
                ::close(wfd);
                wfd = -1;
            }
        }
        if (at_r >= 0 && (p[at_r].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[4096];
            ssize_t r = ::read(rfd, buf, sizeof buf);
            if (r <= 0) {
                ::close(rfd);
                rfd = -1;
            } else if (output.size() < 4096) {
                output.append(buf, static_cast<size_t>(r));
            }
        }
        if (rfd < 0 || !exit_fd || (at_x >= 0 && (p[at_x].revents & POLLIN))) reap();
    }
    if (rfd >= 0) {  // what the command wrote before it exited
        ::fcntl(rfd, F_SETFL, O_NONBLOCK);
        char buf[4096];
        ssize_t r;
        while (output.size() < 4096 && (r = ::read(rfd, buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(r));
    }
    if (wfd >= 0) ::close(wfd);
    if (rfd >= 0) ::close(rfd);
    if (!exited) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);  // in case it was killed before its setsid()
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    result.exited = WIFEXITED(status);
    result.status = result.exited ? WEXITSTATUS(status) : WTERMSIG(status);
    return result;
}

}  // namespace kurir::util
