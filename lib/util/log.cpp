#include "util/log.hpp"

#include "util/syslog_client.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <limits.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

namespace kurir::util {
namespace {
// The one piece of process-wide state: where this process logs. Set at
// start-up from the process's configuration.
LogSetup g_setup;
int g_fd = -1;
SyslogClient g_syslog;
// getpid() is a system call (glibc keeps no copy), made for every line:
// the pid is read once, and again in a child after fork().
int g_pid = 0;

int logged_pid() {
    if (g_pid == 0) {
        static const bool forget_in_child = ::pthread_atfork(nullptr, nullptr, [] { g_pid = 0; }) == 0;
        (void)forget_in_child;
        g_pid = ::getpid();
    }
    return g_pid;
}

std::string clean(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) out += (c == '\n' || c == '\r' || c == '\0') ? ' ' : c;
    return out;
}

void write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // nowhere left to say it
        bytes.remove_prefix(static_cast<size_t>(n));
    }
}

// A line in the file layout: to maillog_file, or to standard error when
// there is no file (or it did not open) and syslog is not there.
void to_file_or_stderr(std::string_view line) {
    int fd = g_fd >= 0 ? g_fd : 2;
    write_all(fd, line);
    if (g_setup.also_stderr && fd != 2) write_all(2, line);
}

void to_syslog(std::string_view wire, std::string_view file_line) {
    if (g_syslog.send(wire) == SyslogClient::Outcome::unavailable || g_setup.also_stderr) write_all(2, file_line);
}

int open_log_file() {
    int create = g_setup.master_creates ? 0 : O_CREAT;
    return ::open(g_setup.file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | create, 0644);
}

void open_file() {
    if (g_fd >= 0) ::close(g_fd);
    g_fd = -1;
    if (!g_setup.relay && !g_setup.file.empty()) g_fd = open_log_file();
}

// Lines go to master: configured so, or a child whose file is not there.
bool relaying() { return g_setup.relay || (g_setup.master_creates && !g_setup.file.empty() && g_fd < 0); }
}  // namespace

void log_init(const LogSetup& setup) {
    g_setup = setup;
    open_file();
    if (setup.relay || !setup.file.empty()) g_syslog.close();
}

void log_reopen() {
    if (g_setup.relay || g_setup.file.empty()) return;
    int fd = open_log_file();
    if (fd < 0) return;  // where it cannot be opened (a chroot), where it was
    if (g_fd < 0) {
        g_fd = fd;
        return;
    }
    // A file made new here by root, or since the rename by another program
    // of root's (kurir-super logs too), gets the owner and mode of the one
    // it replaces (as logrotate's "create"): the daemons that have dropped
    // privileges reopen it after master, on the SIGHUP of the reload.
    struct stat was {}, now {};
    if (::geteuid() == 0 && ::fstat(g_fd, &was) == 0 && ::fstat(fd, &now) == 0 && S_ISREG(now.st_mode) &&
        now.st_nlink == 1 && (now.st_size == 0 || now.st_uid == 0) &&
        (now.st_uid != was.st_uid || now.st_gid != was.st_gid)) {
        if (::fchown(fd, was.st_uid, was.st_gid) == 0) ::fchmod(fd, was.st_mode & 0777);
    }
    // The same descriptor number now names the new file: a line being
    // written at this moment goes whole to one file or the other.
    ::dup3(fd, g_fd, O_CLOEXEC);
    ::close(fd);
}

const LogSetup& log_setup() { return g_setup; }

void log_child_of_master() {
    g_fd = -1;
    g_setup.relay = true;
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
    line += clean(text);
    line += '\n';
    return line;
}

void log_line(std::string_view level, std::string_view text) {
    long now = ::time(nullptr);
    int pid = logged_pid();
    bool to_master = relaying();  // once: a SIGHUP may open the file meanwhile
    if (to_master || g_setup.file.empty()) {
        std::string body = level.empty() ? clean(text) : fmt::format("{}: {}", level, clean(text));
        std::string wire = syslog_wire(g_setup.facility, syslog_severity(level), now,
                                       g_setup.syslog_name + "/" + g_setup.program, pid, body);
        if (to_master) {
            // One write of at most PIPE_BUF bytes: lines of different
            // children never interleave in master's pipe.
            if (wire.size() > PIPE_BUF - 1) wire.resize(PIPE_BUF - 1);
            wire += '\n';
            write_all(2, wire);
            return;
        }
        return to_syslog(wire, log_format(g_setup, now, pid, level, text));
    }
    to_file_or_stderr(log_format(g_setup, now, pid, level, text));
}

void log_relay(std::string_view line) {
    auto parsed = syslog_parse(line);
    if (!parsed) return log_line("warning", fmt::format("daemon standard error: {}", line));
    std::string file_line =
        fmt::format("{} {} {}\n", parsed->stamp, g_setup.hostname, clean(parsed->rest));
    if (g_setup.file.empty()) return to_syslog(line, file_line);
    to_file_or_stderr(file_line);
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
