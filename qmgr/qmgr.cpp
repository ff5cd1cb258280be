// NAME
//   qmgr - the queue manager
// DESCRIPTION
//   One long-lived process. Moves messages from incoming/ (on a wake-up on
//   public/qmgr, and every queue_run_delay) and due messages from deferred/
//   into active/, resolves each recipient through trivial-rewrite, and hands
//   delivery requests to the transport's private socket (local, smtp, ...)
//   within a concurrency window per destination. A connection whose request
//   was answered is kept for the transport's next request, at most ipc_idle
//   (an agent takes several requests on one connection); a kept connection
//   that the agent closed before it read the request is replaced by a new
//   one and the request sent again, once. Each recipient's result is
//   recorded in the queue file before the file moves on: done recipients
//   are marked in place; a message with recipients left waits in deferred/
//   (its mtime is the next attempt) with its defer reasons appended; a
//   finished message is removed (its recipients marked done first; the
//   unlink, which can wait for the disk, runs on a few threads of qmgr's own:
//   qmgr_remover.hpp). Bounced recipients, expired messages,
//   delay warnings and DSN success requests get RFC 3464 notices, queued
//   through cleanup (qmgr_bounce.cpp). Destinations no server of which
//   answered are held for a while (dead sites). On start it recovers active/.
// SECURITY
//   Runs as mail_owner. Reads queue files cleanup wrote; trusts nothing in
//   the replies of delivery agents beyond the recipients it asked about.
// CONFIGURATION PARAMETERS
//   queue_run_delay, qmgr_message_active_limit, minimal_backoff_time, maximal_backoff_time,
//   default_destination_concurrency_limit, <transport>_destination_concurrency_limit,
//   defer_transports, maximal_queue_lifetime, bounce_queue_lifetime,
//   delay_warning_time, bounce_size_limit, double_bounce_sender, ipc_timeout, ipc_idle,
//   daemon_timeout (the deadline of each delivery request)
#include "daemons/daemons.hpp"
#include "qmgr/qmgr.hpp"

#include <memory>

using namespace kurir;

int kurir::daemons::qmgr_main(int argc, char** argv) {
    std::unique_ptr<qmgr::Manager> manager;
    server::Hooks hooks;
    // On a reload, deliveries in flight finish (and their results are
    // recorded) before this process exits and master starts the next qmgr.
    hooks.busy = [&] { return manager && manager->deliveries_in_flight() > 0; };
    hooks.post_drop = [&](server::ServerContext& ctx) {
        manager = std::make_unique<qmgr::Manager>(ctx);
        manager->start();
    };
    hooks.before_exit = [&](server::ServerContext&) { manager.reset(); };
    return server::trigger_server_main(
        argc, argv, "qmgr",
        [&](server::ServerContext&, std::string_view request) { return manager->on_trigger(request); }, hooks);
}
