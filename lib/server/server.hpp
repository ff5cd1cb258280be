// The daemon skeletons. A daemon's main() names itself, picks a skeleton and
// hands it a service function; the skeleton does the rest: options, config,
// logging, privilege drop, the listening socket master passed, status
// reports to master, max_idle/max_use, and graceful exit on SIGHUP (reload).
//
//   request_server one client at a time, blocking I/O, several requests on
//                  its connection (cleanup; the delivery agents local,
//                  virtual, pipe, error, discard)
//   multi_server   many clients on one libevent loop (smtpd, trivial-rewrite)
//   trigger_server one-byte wake-ups on a libevent loop, one long-lived
//                  process (qmgr, pickup)
#pragma once

#include "mail/config.hpp"
#include "mail/queue.hpp"
#include "server/open_files.hpp"
#include "util/fs.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

struct event_base;

namespace kurir::server {

struct ServerContext {
    std::string program;   // "smtpd"
    std::string service;   // master.cf service name
    mail::Config config;
    mail::QueueDir queue{""};
    event_base* base = nullptr;  // multi and trigger servers
    bool draining = false;       // told to exit (reload): finish, take nothing new
    std::string config_dir;      // what -c named, and master.cf's -o overrides
    std::vector<std::string> overrides;
    std::string config_stamp;    // main.cf's identity when it was read
    std::vector<std::string> args{};  // master.cf's arguments after the options (pipe's flags=...)
};

// Rereads main.cf when it changed since it was read, so that a request that
// follows an edit (kurir-conf -e, then kurir flush) sees the new values even
// when it reaches this process before the reload does. True when the
// configuration was replaced; a file that does not load keeps the old one.
bool refresh_config(ServerContext& ctx);

struct Hooks {
    // After config and logging, before dropping privileges.
    std::function<void(ServerContext&)> pre_drop;
    // After dropping privileges, before serving.
    std::function<void(ServerContext&)> post_drop;
    // Run as root even when master.cf says unprivileged (local).
    bool keep_root = false;
    // Loop servers: work still in flight beyond client connections (qmgr's
    // deliveries). A draining server exits only once this says false.
    std::function<bool()> busy;
    // Loop servers: after the loop ends, while its event base still exists
    // (free what lives on it).
    std::function<void(ServerContext&)> before_exit;
};

// A delivery agent or cleanup answers one request on client (borrowed) and says
// whether the connection may carry another (false: it is closed). Each read
// and write on client waits at most ipc_timeout (set once per connection,
// not per request). Between
// requests the process waits on the connection up to max_idle for the next
// one and counts each request against max_use, as Postfix's single servers
// count connections; told to reload, it finishes the request it has and
// closes. It stays busy for master while a client holds it: a kept
// connection (qmgr's and smtpd's, kept_conns.hpp) is a process taken. So that
// kept connections never hold a service at its process limit while other
// clients wait, a process between requests takes a connection waiting on
// the listener instead, and closes the kept one.
using RequestService = std::function<bool(ServerContext&, int client)>;
int request_server_main(int argc, char** argv, std::string_view program, RequestService service,
                        Hooks hooks = {});

// The multi-server's service takes ownership of the client and must call
// done() exactly once when the connection is finished. It serves up to
// clients_per_process at once, fewer when the open-file limit does not
// allow files_per_client for each (server/open_files.hpp).
class MultiServer;
using ClientDone = std::function<void()>;
using MultiService = std::function<void(ServerContext&, util::Fd client, ClientDone done)>;
int multi_server_main(int argc, char** argv, std::string_view program, MultiService service,
                      Hooks hooks = {}, int clients_per_process = 256,
                      int files_per_client = kFilesPerClient);

// Trigger servers get the bytes of each wake-up, one frame at a time as
// each arrives whole (or, at the end, what is left of a malformed or
// incomplete one, for the service to refuse), and return their answer. A
// request with an answer ends its connection once the answer is written;
// one without may be followed by more on the same connection (a client
// may keep it for its next wake-ups). A connection idle for 10 seconds is
// closed without losing what was written before. Their own timers go on
// ctx.base, set up in hooks.post_drop.
using TriggerService = std::function<std::string(ServerContext&, std::string_view request)>;
int trigger_server_main(int argc, char** argv, std::string_view program, TriggerService on_trigger,
                        Hooks hooks = {});

// Tells master this process is busy or available (no-op when not run by master).
void report_status(bool available);

}  // namespace kurir::server
