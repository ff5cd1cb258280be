#include "mail/log_config.hpp"

#include "util/syslog_client.hpp"

namespace kurir::mail {

util::Result<util::LogSetup> log_setup(const Config& cfg, std::string program, bool also_stderr, bool relay) {
    util::LogSetup s;
    s.syslog_name = cfg.str("syslog_name");
    s.program = std::move(program);
    s.hostname = cfg.str("myhostname");
    s.file = cfg.str("maillog_file");
    s.also_stderr = also_stderr;
    s.relay = relay;
    std::string facility = cfg.str("syslog_facility");
    auto code = util::syslog_facility_code(facility);
    if (!code) return util::fail("syslog_facility " + facility + ": unknown syslog facility");
    s.facility = *code;
    return s;
}

}  // namespace kurir::mail
