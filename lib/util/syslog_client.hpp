// A syslog client: one datagram per line to /dev/log in the format every
// syslog daemon (rsyslog, syslog-ng, journald) reads and glibc's syslog(3)
// writes,
//
//   <PRI>Mmm dd hh:mm:ss TAG[PID]: TEXT
//
// PRI = facility * 8 + severity (RFC 3164; month names and the time in the
// C locale's form, local time). Not glibc's syslog(3): it is one
// process-wide connection that blocks when the socket is full, and it
// stamps every line with the caller's own pid and time, while master passes
// on its children's lines (log_relay) with theirs. This one never blocks:
// a full socket drops the line, as syslogd does with what it cannot take.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kurir::util {

enum class Severity : int { crit = 2, err = 3, warning = 4, info = 6 };

// The facility code (already shifted, as LOG_MAIL) of a Postfix
// syslog_facility name (auth, authpriv, cron, daemon, ftp, kern, lpr, mail,
// news, syslog, user, uucp, local0..local7), or nothing.
std::optional<int> syslog_facility_code(std::string_view name);

// The severity Postfix gives a message level ("" info, "warning", "error",
// "fatal" and "panic" crit).
Severity syslog_severity(std::string_view level);

// One line in the wire format above, without a trailing newline.
std::string syslog_wire(int facility, Severity severity, long epoch, std::string_view tag, int pid,
                        std::string_view text);

// A wire line taken apart (see log_relay): PRI, the 15-character stamp and
// what follows it ("TAG[PID]: TEXT"); nothing when it is not one.
struct SyslogLine {
    int pri = 0;
    std::string_view stamp;
    std::string_view rest;
};
std::optional<SyslogLine> syslog_parse(std::string_view wire);

class SyslogClient {
public:
    explicit SyslogClient(std::string path = "/dev/log") : path_(std::move(path)) {}
    ~SyslogClient();
    SyslogClient(const SyslogClient&) = delete;
    SyslogClient& operator=(const SyslogClient&) = delete;

    enum class Outcome { sent, dropped, unavailable };
    // Sends one datagram; reconnects once when the daemon was restarted.
    // unavailable: no socket there, or it refuses (the caller falls back
    // to standard error); dropped: the socket is full.
    Outcome send(std::string_view wire);
    void close();

private:
    bool connect_();
    std::string path_;
    int fd_ = -1;
};

}  // namespace kurir::util
