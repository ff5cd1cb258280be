// NAME
//   trivial-rewrite - address rewriting and resolving service
// DESCRIPTION
//   Answers rewrite-request frames (mail/mail_proto.hpp) on private/rewrite,
//   refusing and logging a malformed one: "rewrite" gives an
//   address its canonical form (user -> user@$myorigin); "resolve" gives the
//   (transport, nexthop, recipient) that delivers to it: local for
//   $mydestination, $relay_transport for $relay_domains (its nexthop, else
//   $relayhost, else the recipient domain), otherwise smtp to $relayhost or
//   the recipient domain; transport_maps (reopened when rebuilt) come first.
//   sender_dependent_relayhost_maps, searched with the request's sender
//   (address, then @domain; "<>" for the null sender), replaces $relayhost
//   for that sender's mail ("DUNNO": keep $relayhost).
//   A table that cannot answer is an error in the reply (the caller
//   defers), never a misroute.
//   Used by cleanup and qmgr. Many clients per process, one event loop.
// SECURITY
//   Runs as mail_owner; trusts nothing in the requests it parses.
// CONFIGURATION PARAMETERS
//   myorigin, mydestination, relayhost, transport_maps, myhostname,
//   relay_domains, relay_transport, sender_dependent_relayhost_maps,
//   empty_address_relayhost_maps_lookup_key
#include "daemons/daemons.hpp"
#include "server/attr_server.hpp"
#include "trivial-rewrite/trivial_rewrite_service.hpp"

using namespace kurir;

int kurir::daemons::trivial_rewrite_main(int argc, char** argv) {
    trivial_rewrite::Tables tables;
    return server::multi_server_main(argc, argv, "trivial-rewrite",
        [&tables](server::ServerContext& ctx, util::Fd fd, server::ClientDone done) {
            server::serve_attr_connection(ctx, std::move(fd), std::move(done), [&ctx, &tables](const util::Attrs& frame) {
                return trivial_rewrite::answer(ctx.config, tables, frame);
            });
        });
}
