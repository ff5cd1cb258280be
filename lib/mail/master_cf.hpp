// master.cf, Postfix's columns, as a pure function over bytes:
//
//   service type private unpriv chroot wakeup maxproc command [args...]
//
// "-" takes the default (private y, unpriv y, chroot n, wakeup 0, maxproc
// $default_process_limit). A wakeup may end in "?" (only when used). Lines
// beginning with whitespace continue the previous entry; "#" starts a comment.
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

enum class ServiceType { inet, unix_stream };

struct ServiceEntry {
    std::string name;  // inet: [host:]port; unix: socket name
    ServiceType type = ServiceType::unix_stream;
    bool private_ = true;
    bool unprivileged = true;
    bool chroot = false;
    int wakeup = 0;
    int maxproc = -1;  // -1: default_process_limit; 0: no limit
    std::string command;
    std::vector<std::string> args;
    int line = 0;
};

util::Result<std::vector<ServiceEntry>> parse_master_cf(std::string_view text, const std::string& file);
// A master.cf line's fields: the words between blanks.
std::vector<std::string> master_cf_fields(std::string_view line);

// How many processes master runs at most for a service. "-" is
// $default_process_limit. "0" is "no limit" in Postfix; kurir caps it at
// kMaxprocZeroFactor x default_process_limit (1,000 by default), so a
// service such as cleanup, which Postfix ships with maxproc 0, cannot be
// made to fork without bound by clients that hold it (each smtpd session in
// DATA holds a cleanup process).
constexpr int kMaxprocZeroFactor = 10;
int effective_maxproc(const ServiceEntry& e, long default_process_limit);

}  // namespace kurir::mail
