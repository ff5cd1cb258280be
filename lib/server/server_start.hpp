// What the daemon skeletons share (server.cpp, single_server.cpp): a
// daemon's start, the listening sockets master passed, and the reload flag.
// For lib/server only; daemons use server.hpp.
#pragma once

#include "server/server.hpp"

#include <string_view>
#include <vector>

namespace kurir::server::detail {

// Options, configuration, logging, the listeners, the privilege drop and
// the hooks around it (server.hpp).
ServerContext start(int argc, char** argv, std::string_view program, const Hooks& hooks);
// kListenFd, then kMoreListenFd... (-s N).
const std::vector<int>& listen_fds();
// SIGHUP came: finish what is in hand, take nothing new.
bool stop_requested();
// A connection waiting on any listener, taking them in turn from the one
// after the last that gave one (none starves); -1 when none waits.
int accept_any(int flags);

}  // namespace kurir::server::detail
