// Runs a delivery command (local's |command and mailbox_command, pipe's
// argv=) as a given user: a cleaned environment, the message on standard
// input, standard output and error collected (the first 4 KB), and one
// time limit that covers writing, reading and the wait for the exit. At the
// limit the command's whole process group is killed.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::util {

struct CommandSpec {
    std::vector<std::string> argv;  // argv[0] is the program's path; no shell unless it is one
    uid_t uid = 0;                  // real and effective ids for good (when run by root)
    gid_t gid = 0;
    std::string directory;          // the working directory ("/" when it cannot be entered)
    std::map<std::string, std::string> env;  // over PATH=/usr/bin:/bin, SHELL=/bin/sh
    long time_limit = 0;            // seconds
};

struct CommandOutcome {
    bool started = true;        // false: pipe or fork failed (error says why)
    bool timed_out = false;
    bool exited = false;        // WIFEXITED
    int status = 0;             // exit status, or the signal when !exited
    std::string output;         // what it wrote (first 4 KB)
    std::string error;
    // The first line of the output with control characters as spaces.
    std::string first_line() const;
};

CommandOutcome run_command(const CommandSpec& spec, std::string_view input);

}  // namespace kurir::util
