// NAME
//   discard - accept mail and throw it away
// DESCRIPTION
//   The delivery agent of the discard: transport, as Postfix's
//   discard(8): every recipient of a request counts as delivered (2.0.0)
//   and is logged as relay=none, status=sent with the nexthop's text, as
//   in transport_maps' "spam.example discard:silently dropped" (default
//   "discarded"). Nothing is written anywhere.
// SECURITY
//   Runs as mail_owner; reads the request and the queue file's envelope.
// CONFIGURATION PARAMETERS
//   ipc_timeout, queue_directory
#include "daemons/daemons.hpp"
#include "server/answer_all.hpp"

using namespace kurir;

int kurir::daemons::discard_main(int argc, char** argv) {
    return server::request_server_main(argc, argv, "discard", [&](server::ServerContext& ctx, int client) {
        return server::answer_all(ctx, client, "2.0.0", "discarded");
    });
}
