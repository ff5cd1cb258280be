// Where a program logs, from its configuration: syslog_name, myhostname,
// maillog_file (empty: syslog, facility syslog_facility).
#pragma once

#include "mail/config.hpp"
#include "util/log.hpp"
#include "util/result.hpp"

#include <string>

namespace kurir::mail {

// An unknown syslog_facility is an error (as Postfix's "unknown syslog
// facility"), naming the value.
util::Result<util::LogSetup> log_setup(const Config& cfg, std::string program, bool also_stderr = false,
                                       bool relay = false);

}  // namespace kurir::mail
