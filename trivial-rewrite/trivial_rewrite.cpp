// NAME
//   trivial-rewrite - address rewriting and resolving service
// DESCRIPTION
//   Answers attribute requests on private/rewrite: "rewrite" gives an
//   address its canonical form (user -> user@$myorigin); "resolve" gives the
//   (transport, nexthop, recipient) that delivers to it: local for
//   $mydestination, otherwise smtp to $relayhost or the recipient domain;
//   transport_maps (reopened when rebuilt) come first.
//   Used by cleanup and qmgr. Many clients per process, one event loop.
// SECURITY
//   Runs as mail_owner; trusts nothing in the requests it parses.
// CONFIGURATION PARAMETERS
//   myorigin, mydestination, relayhost, transport_maps, myhostname
#include "server/attr_server.hpp"
#include "mail/resolve.hpp"
#include "util/log.hpp"

using namespace kurir;

int main(int argc, char** argv) {
    mail::WatchedMaps transport_maps("transport_maps");
    return server::multi_server_main(argc, argv, "trivial-rewrite",
        [&transport_maps](server::ServerContext& ctx, util::Fd fd, server::ClientDone done) {
            server::serve_attr_connection(ctx, std::move(fd), std::move(done),
                [&ctx, &transport_maps](const util::Attrs& req) -> util::Attrs {
                    std::string request = req.get_or("request", "");
                    std::string address = req.get_or("address", "");
                    if (request == "rewrite") return {{"address", mail::canonical_address(ctx.config, address)}};
                    if (request == "resolve") {
                        auto r = mail::resolve_address(ctx.config, address, &transport_maps.get(ctx.config));
                        if (!r) {
                            util::msg_warn("resolve <{}>: {}", address, r.error().text);
                            return {{"error", r.error().text}};
                        }
                        return {{"transport", r->transport}, {"nexthop", r->nexthop},
                                {"recipient", r->recipient}, {"flags", r->flags}};
                    }
                    return {{"error", "unknown request"}};
                });
        });
}
