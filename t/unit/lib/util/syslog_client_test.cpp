#include "util/syslog_client.hpp"

#include "test_util.hpp"
#include "util/log.hpp"

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

using namespace kurir;
using namespace kurir::util;

namespace {

// A datagram socket bound at PATH, as syslogd's /dev/log.
int bind_dgram(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
}

std::string receive(int fd) {
    char buf[8192];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

TEST_CASE("syslog_facility_code: Postfix's names", "[syslog]") {
    CHECK(syslog_facility_code("mail") == 16);  // LOG_MAIL
    CHECK(syslog_facility_code("daemon") == 24);
    CHECK(syslog_facility_code("local0") == 128);
    CHECK(syslog_facility_code("local7") == 184);
    CHECK(syslog_facility_code("auth") == 32);
    CHECK_FALSE(syslog_facility_code("MAIL"));
    CHECK_FALSE(syslog_facility_code("local8"));
    CHECK_FALSE(syslog_facility_code(""));
}

TEST_CASE("syslog_wire: <PRI>, RFC 3164 stamp, tag[pid]", "[syslog]") {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    // 2026-01-05 03:04:05 UTC: a one-digit day is padded with a space.
    std::string w = syslog_wire(16, Severity::info, 1767582245, "kurir/smtpd", 4711, "connect from x[1.2.3.4]");
    CHECK(w == "<22>Jan  5 03:04:05 kurir/smtpd[4711]: connect from x[1.2.3.4]");
    CHECK(syslog_wire(16, syslog_severity("warning"), 1767582245, "t", 1, "w").starts_with("<20>"));
    CHECK(syslog_wire(16, syslog_severity("error"), 1767582245, "t", 1, "e").starts_with("<19>"));
    CHECK(syslog_wire(16, syslog_severity("fatal"), 1767582245, "t", 1, "f").starts_with("<18>"));
    CHECK(syslog_wire(16, syslog_severity("panic"), 1767582245, "t", 1, "p").starts_with("<18>"));
    CHECK(syslog_wire(184, Severity::info, 1767582245, "t", 1, "x").starts_with("<190>"));

    auto p = syslog_parse(w);
    REQUIRE(p);
    CHECK(p->pri == 22);
    CHECK(p->stamp == "Jan  5 03:04:05");
    CHECK(p->rest == "kurir/smtpd[4711]: connect from x[1.2.3.4]");
    for (const char* bad : {"", "hello", "<>Jan  5 03:04:05 t[1]: x", "<999>Jan  5 03:04:05 t[1]: x",
                            "<22>Jan  5 03:04 t[1]: x", "<22>Jan  5 03:04:05 no tag", "<2x>Jan  5 03:04:05 t[1]: x"})
        CHECK_FALSE(syslog_parse(bad));
}

TEST_CASE("SyslogClient: a datagram per line; absent socket; a full one drops and never blocks", "[syslog]") {
    test::TempDir dir;
    std::string path = dir / "log";
    SyslogClient missing(path);
    CHECK(missing.send("<22>x") == SyslogClient::Outcome::unavailable);

    int server = bind_dgram(path);
    SyslogClient client(path);
    REQUIRE(client.send("<22>Jan  5 03:04:05 kurir/qmgr[7]: one") == SyslogClient::Outcome::sent);
    CHECK(receive(server) == "<22>Jan  5 03:04:05 kurir/qmgr[7]: one");

    // Nobody reads: the queue fills, and the client drops instead of waiting.
    bool dropped = false;
    for (int i = 0; i < 100000 && !dropped; ++i)
        dropped = client.send(std::string(1000, 'x')) == SyslogClient::Outcome::dropped;
    CHECK(dropped);

    // syslogd restarted: a new socket under the same name is found again.
    ::close(server);
    ::unlink(path.c_str());
    CHECK(client.send("<22>gone") == SyslogClient::Outcome::unavailable);
    server = bind_dgram(path);
    CHECK(client.send("<22>back") == SyslogClient::Outcome::sent);
    CHECK(receive(server) == "<22>back");
    ::close(server);
}

TEST_CASE("log_relay: a child's wire line is written in the file layout with its own tag, pid and time", "[syslog]") {
    test::CapturedLog log;
    log_relay("<20>Jan  5 03:04:05 kurir/smtpd[4711]: warning: hostile");
    log_relay("terminate called after throwing an instance of 'std::bad_alloc'");
    std::string text = log.text();
    CHECK(text.starts_with("Jan  5 03:04:05 unit kurir/smtpd[4711]: warning: hostile\n"));
    CHECK(text.find("kurir/test[" + std::to_string(::getpid()) +
                    "]: warning: daemon standard error: terminate called after throwing") != std::string::npos);
}
