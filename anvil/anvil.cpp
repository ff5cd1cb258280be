// NAME
//   anvil - connection count and rate service
// DESCRIPTION
//   Counts, for every smtpd process of the instance, how many connections
//   each client address has open to each service, and how many
//   connections, messages, recipients, new TLS sessions and AUTH commands
//   it asked for in the current anvil_rate_time_unit, as Postfix's anvil(8)
//   does for smtpd_client_connection_count_limit and the
//   smtpd_client_*_rate_limit parameters. Answers anvil-request frames
//   (mail/mail_proto.hpp) on private/anvil: "connect" counts one more and
//   answers the count and the connection rate, "disconnect" counts one
//   less, the others answer their rate. Rate windows are dropped once they
//   end and the table is full, so a flood of distinct addresses cannot grow
//   it without bound. Each smtpd keeps
//   one connection open; when it closes (the smtpd exits or dies) what it
//   counted is released. Everything is in memory and bounded by the
//   sessions open now; a restarted anvil starts from zero (an undercount,
//   never a refusal). One process (maxproc 1 in master.cf), one event loop.
// SECURITY
//   Runs as mail_owner on a private socket; trusts nothing in the requests
//   it parses: a malformed one is logged and its connection closed.
// CONFIGURATION PARAMETERS
//   ipc_timeout, max_idle, anvil_rate_time_unit
// SEE ALSO
//   smtpd (smtpd_client_connection_count_limit,
//   smtpd_client_event_limit_exceptions)
#include "anvil/anvil_service.hpp"
#include "daemons/daemons.hpp"
#include "server/attr_conn.hpp"
#include "server/server.hpp"
#include "util/log.hpp"

#include <ctime>

using namespace kurir;

namespace {

// As server::serve_attr_connection, but without a read deadline: an smtpd
// that takes no new client for an hour still has sessions counted here.
void serve(server::ServerContext& ctx, anvil::AnvilTable& table, util::Fd fd, server::ClientDone done) {
    auto conn = table.open_conn();
    server::AttrConn::Handlers h;
    h.on_frame = [&ctx, &table, conn](server::AttrConn& c, util::Attrs request) {
        table.set_rate_time_unit(ctx.config.seconds("anvil_rate_time_unit"));
        auto reply = anvil::answer(table, conn, request, static_cast<long>(::time(nullptr)));
        if (!reply) {
            util::msg_warn("refused request: {}; closing connection", reply.error().text);
            return c.close();
        }
        c.write(*reply);
    };
    h.on_fault = [](server::AttrConn& c, server::AttrConn::Fault kind, const util::Error& e) {
        if (kind == server::AttrConn::Fault::protocol)
            util::msg_warn("malformed attribute request: {}; closing connection", e.text);
        c.close();
    };
    h.on_close = [&table, conn, done = std::move(done)] {
        table.close_conn(conn);
        done();
    };
    auto* c = server::AttrConn::adopt(ctx.base, std::move(fd), std::move(h));
    c->set_timeouts(0, ctx.config.seconds("ipc_timeout"));
}

}  // namespace

int kurir::daemons::anvil_main(int argc, char** argv) {
    anvil::AnvilTable table;
    // Every smtpd process holds one connection for its whole life.
    constexpr int kClients = 1 << 14;
    return server::multi_server_main(
        argc, argv, "anvil",
        [&table](server::ServerContext& ctx, util::Fd fd, server::ClientDone done) {
            serve(ctx, table, std::move(fd), std::move(done));
        },
        {}, kClients, 1);  // a client is its connection and nothing more
}
