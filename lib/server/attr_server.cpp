#include "server/attr_server.hpp"

#include "server/attr_conn.hpp"
#include "util/log.hpp"

namespace kurir::server {

void serve_attr_connection(ServerContext& ctx, util::Fd client, ClientDone done, AttrHandler handler) {
    AttrConn::Handlers h;
    h.on_frame = [handler = std::move(handler)](AttrConn& c, util::Attrs request) {
        auto answer = handler(request);
        if (!answer) {
            util::msg_warn("refused request: {}", answer.error().text);
            return c.close();
        }
        c.write(*answer);
    };
    h.on_fault = [](AttrConn& c, AttrConn::Fault kind, const util::Error& e) {
        if (kind == AttrConn::Fault::protocol) util::msg_warn("malformed attribute request: {}; closing connection", e.text);
        c.close();
    };
    h.on_close = std::move(done);
    auto* c = AttrConn::adopt(ctx.base, std::move(client), std::move(h));
    long timeout = ctx.config.seconds("ipc_timeout");
    c->set_timeouts(timeout, timeout);
}

}  // namespace kurir::server
