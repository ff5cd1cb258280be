#include "master/master_log.hpp"

#include "util/log.hpp"

#include <event2/event.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace kurir::master {

LogPipe::~LogPipe() {
    if (ev_) event_free(ev_);
}

util::Result<void> LogPipe::open(event_base* base) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return util::fail_errno("pipe");
    read_.reset(p[0]);
    write_.reset(p[1]);
    // Only master's end: children write blocking, so no line of theirs is
    // dropped while master is busy for a moment.
    if (::fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) return util::fail_errno("fcntl O_NONBLOCK on the log pipe");
    ev_ = event_new(
        base, read_.get(), EV_READ | EV_PERSIST,
        [](evutil_socket_t, short, void* arg) { static_cast<LogPipe*>(arg)->drain(); }, this);
    if (!ev_ || event_add(ev_, nullptr) < 0) return util::fail("log pipe: cannot watch it");
    return {};
}

void LogPipe::drain() {
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(read_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        pending_.append(buf, static_cast<size_t>(n));
        size_t start = 0;
        for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1)
            if (nl > start) util::log_relay(std::string_view(pending_).substr(start, nl - start));
        pending_.erase(0, start);
        // A child that writes without newlines is cut into lines here.
        if (pending_.size() > 8192) {
            util::log_relay(pending_);
            pending_.clear();
        }
    }
}

}  // namespace kurir::master
