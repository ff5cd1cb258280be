// The daemons in daemon_directory as one program with a name per daemon:
// master, smtpd, pickup, cleanup, qmgr, trivial-rewrite, local, smtp,
// lmtp, anvil, pipe, error, discard and virtual are hard links to one file
// (install_daemons makes them), and each run of it becomes the daemon
// that the last component of argv[0] names, with its arguments, privileges
// and man page. One file, so that the code every daemon has (lib/util,
// lib/mail, lib/server) is in memory once for all of them, as Postfix's
// shared libraries are, and not once per daemon.
#include "daemons/daemons.hpp"

#include <fmt/core.h>

#include <array>
#include <cstdio>
#include <string_view>
#include <sysexits.h>
#include <utility>

namespace {

using DaemonMain = int (*)(int, char**);

constexpr std::array<std::pair<std::string_view, DaemonMain>, 14> daemon_table{{
    {"anvil", kurir::daemons::anvil_main},
    {"cleanup", kurir::daemons::cleanup_main},
    {"discard", kurir::daemons::discard_main},
    {"error", kurir::daemons::error_main},
    {"lmtp", kurir::daemons::lmtp_main},
    {"local", kurir::daemons::local_main},
    {"master", kurir::daemons::master_main},
    {"pickup", kurir::daemons::pickup_main},
    {"pipe", kurir::daemons::pipe_main},
    {"qmgr", kurir::daemons::qmgr_main},
    {"smtp", kurir::daemons::smtp_main},
    {"smtpd", kurir::daemons::smtpd_main},
    {"trivial-rewrite", kurir::daemons::trivial_rewrite_main},
    {"virtual", kurir::daemons::virtual_main},
}};

}  // namespace

int main(int argc, char** argv) {
    std::string_view path = argc > 0 && argv[0] != nullptr ? argv[0] : "";
    std::string_view name = path.substr(path.rfind('/') + 1);
    for (const auto& [daemon, run] : daemon_table)
        if (daemon == name) return run(argc, argv);
    std::string names;
    for (const auto& entry : daemon_table) names += " " + std::string(entry.first);
    fmt::print(stderr, "kurir-daemons: fatal: unknown daemon name \"{}\": run as one of{}\n", name, names);
    return EX_USAGE;
}
