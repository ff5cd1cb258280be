#include "local/local_command.hpp"

#include "util/command_run.hpp"

#include <sysexits.h>

namespace kurir::local {

DeliveryStatus deliver_command(const CommandRun& run, std::string_view message) {
    util::CommandSpec spec{{"/bin/sh", "-c", run.command}, run.uid, run.gid, run.home, run.env, run.time_limit};
    spec.env["HOME"] = run.home;
    auto done = util::run_command(spec, message);
    if (!done.started) return {"4.3.0", done.error};
    if (done.timed_out) return {"5.3.0", "Command time limit exceeded: \"" + run.command + "\""};
    if (done.exited && done.status == 0) return {"2.0.0", "delivered to command: " + run.command};
    if (done.exited && done.status == EX_TEMPFAIL)
        return {"4.3.0", "temporary failure. Command output: " + done.first_line()};
    std::string how = done.exited ? "status " + std::to_string(done.status) : "signal " + std::to_string(done.status);
    return {"5.3.0", "Command died with " + how + ": \"" + run.command + "\". Command output: " + done.first_line()};
}

}  // namespace kurir::local
