// Logging in Postfix's layout: "Mon dd hh:mm:ss host syslog_name/program[pid]: text",
// one line per event, appended to maillog_file (O_APPEND keeps lines whole
// across processes) or to stderr when no file is set.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace kurir::util {

struct LogSetup {
    std::string syslog_name = "kurir";
    std::string program;
    std::string hostname;
    std::string file;  // empty: stderr
    bool also_stderr = false;
};

void log_init(const LogSetup& setup);
void log_line(std::string_view level, std::string_view text);

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
