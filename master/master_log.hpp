// master's log pipe: every child's standard output and error. Children of
// master log in syslog's wire format to it (util/log.hpp, relay), and
// master passes each line on to maillog_file or syslog; anything else a
// child writes there (an exec failure, a crash report, a library's
// complaint before the child has read its configuration) is logged as a
// warning of master's.
#pragma once

#include "util/fs.hpp"
#include "util/result.hpp"

#include <string>

struct event;
struct event_base;

namespace kurir::master {

class LogPipe {
public:
    LogPipe() = default;
    ~LogPipe();
    LogPipe(const LogPipe&) = delete;
    LogPipe& operator=(const LogPipe&) = delete;

    util::Result<void> open(event_base* base);
    // The write end, for a child's descriptors 1 and 2.
    int write_fd() const { return write_.get(); }
    // Reads what is there and logs every whole line.
    void drain();

private:
    util::Fd read_, write_;
    event* ev_ = nullptr;
    std::string pending_;
};

}  // namespace kurir::master
