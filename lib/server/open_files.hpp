// How many clients a multi server may hold at once under the open-file
// limit: each client costs its own socket and the connections made for it
// (smtpd: cleanup during DATA, one per milter), so a limit of 1024 files
// cannot carry a thousand clients. The soft limit is raised toward the hard
// one as far as the clients need; what the hard limit does not allow costs
// clients, not an accept() that fails with EMFILE.
#pragma once

#include <sys/resource.h>

namespace kurir::server {

struct ClientCapacity {
    int clients;  // at most the clients wanted, at least 1
    rlim_t soft;  // the soft RLIMIT_NOFILE to set (the one given when enough)
};

// Files each client may hold (smtpd's: its socket, cleanup during DATA,
// milters), and files kept for the process itself (listeners, master's
// pipes, logs, tables, the DNS channel).
inline constexpr int kFilesPerClient = 4;
inline constexpr int kFilesReserved = 64;

// Pure: the clients and soft limit for `wanted` clients under `limit`.
ClientCapacity fit_clients(int wanted, rlimit limit, int files_per_client = kFilesPerClient,
                           int reserved = kFilesReserved);

// Applies fit_clients to this process's RLIMIT_NOFILE (raising the soft
// limit when needed) and returns the clients it allows; warns when that is
// fewer than wanted.
int fit_clients_to_open_files(int wanted, int files_per_client, const char* program);

}  // namespace kurir::server
