#include "util/syslog_client.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

namespace kurir::util {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 20> kFacilities{{
    {"auth", 4 << 3},     {"authpriv", 10 << 3}, {"cron", 9 << 3},    {"daemon", 3 << 3},   {"ftp", 11 << 3},
    {"kern", 0 << 3},     {"lpr", 6 << 3},       {"mail", 2 << 3},    {"news", 7 << 3},     {"syslog", 5 << 3},
    {"user", 1 << 3},     {"uucp", 8 << 3},      {"local0", 16 << 3}, {"local1", 17 << 3},  {"local2", 18 << 3},
    {"local3", 19 << 3},  {"local4", 20 << 3},   {"local5", 21 << 3}, {"local6", 22 << 3},  {"local7", 23 << 3},
}};

constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

std::optional<int> syslog_facility_code(std::string_view name) {
    for (const auto& [n, code] : kFacilities)
        if (n == name) return code;
    return std::nullopt;
}

Severity syslog_severity(std::string_view level) {
    if (level == "warning") return Severity::warning;
    if (level == "error") return Severity::err;
    if (level == "fatal" || level == "panic") return Severity::crit;
    return Severity::info;
}

std::string syslog_wire(int facility, Severity severity, long epoch, std::string_view tag, int pid,
                        std::string_view text) {
    time_t t = epoch;
    struct tm tm {};
    localtime_r(&t, &tm);
    return fmt::format("<{}>{} {:2} {:02}:{:02}:{:02} {}[{}]: {}", facility | static_cast<int>(severity),
                       kMonths[static_cast<size_t>(tm.tm_mon) % 12], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                       tag, pid, text);
}

std::optional<SyslogLine> syslog_parse(std::string_view wire) {
    if (wire.size() < 3 || wire[0] != '<') return std::nullopt;
    size_t close = wire.find('>');
    if (close == std::string_view::npos || close < 2 || close > 4) return std::nullopt;
    int pri = 0;
    for (size_t i = 1; i < close; ++i) {
        if (wire[i] < '0' || wire[i] > '9') return std::nullopt;
        pri = pri * 10 + (wire[i] - '0');
    }
    if (pri > 191) return std::nullopt;
    std::string_view after = wire.substr(close + 1);
    // "Mmm dd hh:mm:ss " then "TAG[PID]: "
    if (after.size() < 16 || after[3] != ' ' || after[6] != ' ' || after[9] != ':' || after[12] != ':' ||
        after[15] != ' ')
        return std::nullopt;
    std::string_view rest = after.substr(16);
    if (rest.find("]: ") == std::string_view::npos) return std::nullopt;
    return SyslogLine{pri, after.substr(0, 15), rest};
}

SyslogClient::~SyslogClient() { close(); }

void SyslogClient::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool SyslogClient::connect_() {
    close();
    sockaddr_un addr{};
    if (path_.size() >= sizeof addr.sun_path) return false;
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return false;
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        close();
        return false;
    }
    return true;
}

SyslogClient::Outcome SyslogClient::send(std::string_view wire) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (fd_ < 0 && !connect_()) return Outcome::unavailable;
        if (::send(fd_, wire.data(), wire.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return Outcome::sent;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return Outcome::dropped;
        // ECONNREFUSED, ENOTCONN: the daemon went away and may be back under
        // the same name; one more connect.
        close();
    }
    return Outcome::unavailable;
}

}  // namespace kurir::util
