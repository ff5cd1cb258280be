// pipe's service: one delivery request, one command run for its recipients
// (mail/pipe_spec.hpp says how the command line and the message are made),
// one result for every recipient from the command's exit status.
#pragma once

#include "mail/pipe_spec.hpp"
#include "server/server.hpp"
#include "util/command_run.hpp"
#include "util/socket.hpp"

#include <string>

namespace kurir::pipe {

// A command's end as a DSN status and text, as Postfix's pipe says it:
// sysexits codes by their meaning (75 and the other soft ones defer), any
// other status or a signal bounces, the time limit bounces.
struct PipeStatus {
    std::string dsn;
    std::string text;
};
PipeStatus command_status(const util::CommandOutcome& done, const std::string& service, const std::string& command);

bool serve(server::ServerContext& ctx, int client, const mail::PipeSpec& spec);

}  // namespace kurir::pipe
