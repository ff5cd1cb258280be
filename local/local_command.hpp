// Delivery to a command (|cmd in an alias or .forward): /bin/sh -c with a
// cleaned environment, the recipient's (or table owner's) rights, the
// message on standard input and a time limit.
#pragma once

#include "local/local_mailbox.hpp"

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>

namespace kurir::local {

struct CommandRun {
    std::string command;
    uid_t uid;
    gid_t gid;
    std::string home;
    std::map<std::string, std::string> env;  // SENDER, RECIPIENT, ...
    long time_limit;
};

DeliveryStatus deliver_command(const CommandRun& run, std::string_view message);

}  // namespace kurir::local
