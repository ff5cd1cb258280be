// Logging in Postfix's layout: "Mon dd hh:mm:ss host syslog_name/program[pid]: text",
// one line per event, to one of:
//   - maillog_file (appended, O_APPEND keeps lines whole across processes);
//   - syslog, when no file is set (util/syslog_client: "<PRI>Mmm dd hh:mm:ss
//     syslog_name/program[pid]: text" to /dev/log, facility syslog_facility),
//     standard error when /dev/log is absent or refuses;
//   - relay: a child of master writes every line in syslog's wire format to
//     its standard error, a pipe that master reads (master/master_log), and
//     master writes it to maillog_file or syslog. Children do so until they
//     have read their configuration, to log to syslog (so that one process
//     talks to /dev/log, and chrooted daemons need none), and chrooted ones
//     also for maillog_file, which they could not reopen by name. Whatever
//     a child says on standard error (an early fatal, a crash) reaches the
//     log too.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace kurir::util {

struct LogSetup {
    std::string syslog_name = "kurir";
    std::string program;
    std::string hostname;
    std::string file;  // empty: syslog
    bool also_stderr = false;
    int facility = 2 << 3;  // LOG_MAIL
    bool relay = false;     // to master, through standard error
    // A child of master never creates the file: master does, after a
    // rename, with the owner of the file it replaces. A child running as
    // root that made it first would leave it root's, and the children
    // without root could not reopen it. Until it is there, its lines go
    // to master as with relay.
    bool master_creates = false;
};

void log_init(const LogSetup& setup);
// maillog_file again by name (after a rename by logrotate), in the same
// descriptor; async-signal-safe (a SIGHUP handler calls it).
void log_reopen();
// The setup in force (master passes it on to reopen after a reload).
const LogSetup& log_setup();
// A child master has forked and not yet exec'd: forget the log file without
// closing it (the child is about to close its descriptors) and say
// everything in the relay format on standard error, master's pipe.
void log_child_of_master();
void log_line(std::string_view level, std::string_view text);
// A line a child wrote on its standard error (master): a syslog wire line
// goes on with the child's tag, pid, time and priority; anything else is
// logged as master's warning.
void log_relay(std::string_view line);

// The layout, as a pure function, for tests.
std::string log_format(const LogSetup& setup, long epoch, int pid, std::string_view level,
                       std::string_view text);

template <class... A>
void msg_info(fmt::format_string<A...> f, A&&... a) {
    log_line("", fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void msg_warn(fmt::format_string<A...> f, A&&... a) {
    log_line("warning", fmt::format(f, std::forward<A>(a)...));
}
// A command-line tool's last word: "PROGRAM: fatal: TEXT" on standard error
// with write(2), never an exception (in a set-gid process standard error may
// be closed, or opened read-only by glibc), then exit(code).
[[noreturn]] void tool_fatal(std::string_view program, int code, std::string_view text);

// fatal: log and exit(1); master restarts the service.
[[noreturn]] void fatal_line(std::string_view text);
template <class... A>
[[noreturn]] void msg_fatal(fmt::format_string<A...> f, A&&... a) {
    fatal_line(fmt::format(f, std::forward<A>(a)...));
}

}  // namespace kurir::util
