// NAME
//   error - bounce or defer mail without delivering it
// DESCRIPTION
//   The delivery agent of the error: transport, as Postfix's error(8):
//   every recipient of a request is bounced with the nexthop's text, as in
//   transport_maps' "example.com error:5.1.1 This domain has no mail" (a
//   leading 5.X.Y is the DSN status; default 5.0.0, text "mail delivery
//   disabled by error transport" when there is none). Run as the retry
//   service (master.cf: "retry unix - - n - - error"), it defers instead
//   (4.X.Y, default 4.0.0). Logs each recipient as relay=none.
// SECURITY
//   Runs as mail_owner; reads the request and the queue file's envelope.
// CONFIGURATION PARAMETERS
//   ipc_timeout, queue_directory
#include "daemons/daemons.hpp"
#include "server/answer_all.hpp"

using namespace kurir;

int kurir::daemons::error_main(int argc, char** argv) {
    return server::request_server_main(argc, argv, "error", [&](server::ServerContext& ctx, int client) {
        bool retry = ctx.service == "retry";
        return server::answer_all(ctx, client, retry ? "4.0.0" : "5.0.0",
                           retry ? "delivery temporarily suspended" : "mail delivery disabled by error transport");
    });
}
