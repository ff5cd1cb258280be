#include "local/local_command.hpp"

#include "util/fs.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace kurir::local {

DeliveryStatus deliver_command(const CommandRun& run, std::string_view message) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) < 0) return {"4.3.0", "pipe: " + std::string(std::strerror(errno))};
    if (::pipe2(out, O_CLOEXEC) < 0) {
        ::close(in[0]);
        ::close(in[1]);
        return {"4.3.0", "pipe: " + std::string(std::strerror(errno))};
    }
    std::vector<std::string> env_strings{"PATH=/usr/bin:/bin", "SHELL=/bin/sh", "HOME=" + run.home};
    for (const auto& [k, v] : run.env) env_strings.push_back(k + "=" + v);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::dup2(out[1], 2);
        ::setsid();
        // Real ids, for good: the command can never get root back.
        if (::getuid() == 0 || ::geteuid() == 0) {
            if (::seteuid(0) < 0) ::_exit(EX_TEMPFAIL);
            if (::setgroups(1, &run.gid) < 0 || ::setgid(run.gid) < 0 || ::setuid(run.uid) < 0) ::_exit(EX_TEMPFAIL);
        }
        if (::chdir(run.home.c_str()) < 0 && ::chdir("/") < 0) ::_exit(EX_TEMPFAIL);
        std::vector<char*> envp;
        for (auto& e : env_strings) envp.push_back(e.data());
        envp.push_back(nullptr);
        const char* argv[] = {"sh", "-c", run.command.c_str(), nullptr};
        ::execve("/bin/sh", const_cast<char**>(argv), envp.data());
        ::_exit(EX_TEMPFAIL);
    }
    ::close(in[0]);
    ::close(out[1]);
    if (pid < 0) {
        ::close(in[1]);
        ::close(out[0]);
        return {"4.3.0", "fork: " + std::string(std::strerror(errno))};
    }
    // Feed the message and collect the output at the same time, within the limit.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(run.time_limit);
    std::string output;
    size_t written = 0;
    int wfd = in[1], rfd = out[0];
    ::fcntl(wfd, F_SETFL, O_NONBLOCK);
    bool timed_out = false;
    while (rfd >= 0) {
        struct pollfd p[2] = {{rfd, POLLIN, 0}, {wfd, POLLOUT, 0}};
        int n = wfd >= 0 ? 2 : 1;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        if (::poll(p, n, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
        if (n == 2 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = ::write(wfd, message.data() + written, message.size() - written);
            if (w > 0) written += static_cast<size_t>(w);
            if (w < 0 && errno != EAGAIN) written = message.size();  // the command stopped reading
            if (written == message.size()) {
                ::close(wfd);
                wfd = -1;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[4096];
            ssize_t r = ::read(rfd, buf, sizeof buf);
            if (r <= 0) {
                ::close(rfd);
                rfd = -1;
            } else if (output.size() < 4096) {
                output.append(buf, static_cast<size_t>(r));
            }
        }
    }
    if (wfd >= 0) ::close(wfd);
    if (rfd >= 0) ::close(rfd);
    if (timed_out) ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string first = output.substr(0, output.find('\n'));
    for (char& c : first)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    if (timed_out) return {"5.3.0", "Command time limit exceeded: \"" + run.command + "\""};
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {"2.0.0", "delivered to command: " + run.command};
    if (WIFEXITED(status) && WEXITSTATUS(status) == EX_TEMPFAIL)
        return {"4.3.0", "temporary failure. Command output: " + first};
    std::string how = WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                        : "signal " + std::to_string(WTERMSIG(status));
    return {"5.3.0", "Command died with " + how + ": \"" + run.command + "\". Command output: " + first};
}

}  // namespace kurir::local
