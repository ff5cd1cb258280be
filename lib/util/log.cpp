#include "util/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

namespace kurir::util {
namespace {
// The one piece of process-wide state: where this process logs. Set once at
// start-up from the process's configuration.
LogSetup g_setup;
int g_fd = -1;
}  // namespace

void log_init(const LogSetup& setup) {
    g_setup = setup;
    if (g_fd >= 0) ::close(g_fd);
    g_fd = -1;
    if (!setup.file.empty())
        g_fd = ::open(setup.file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

std::string log_format(const LogSetup& setup, long epoch, int pid, std::string_view level,
                       std::string_view text) {
    time_t t = epoch;
    struct tm tm {};
    localtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
    std::string line = fmt::format("{} {} {}/{}[{}]: ", stamp, setup.hostname, setup.syslog_name,
                                   setup.program, pid);
    if (!level.empty()) fmt::format_to(std::back_inserter(line), "{}: ", level);
    for (char c : text) line += (c == '\n' || c == '\r' || c == '\0') ? ' ' : c;
    line += '\n';
    return line;
}

void log_line(std::string_view level, std::string_view text) {
    std::string line = log_format(g_setup, ::time(nullptr), ::getpid(), level, text);
    int fd = g_fd >= 0 ? g_fd : 2;
    ssize_t n = ::write(fd, line.data(), line.size());
    (void)n;
    if (g_setup.also_stderr && fd != 2) {
        n = ::write(2, line.data(), line.size());
        (void)n;
    }
}

void tool_fatal(std::string_view program, int code, std::string_view text) {
    std::string line = fmt::format("{}: fatal: {}\n", program, text);
    [[maybe_unused]] ssize_t n = ::write(2, line.data(), line.size());
    std::exit(code);
}

void fatal_line(std::string_view text) {
    log_line("fatal", text);
    std::_Exit(1);
}

}  // namespace kurir::util
