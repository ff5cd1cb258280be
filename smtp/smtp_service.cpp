#include "smtp/smtp_service.hpp"

#include "mail/delivery_log.hpp"
#include "mail/mail_proto.hpp"
#include "server/attr_conn.hpp"
#include "server/server.hpp"
#include "smtp/smtp_agent.hpp"
#include "util/attr.hpp"
#include "util/log.hpp"

#include <memory>

namespace kurir::smtp {

namespace {

// One qmgr connection: a request frame, a delivery, an answer frame, and
// again for the next request while qmgr keeps the connection
// (server/kept_conns.hpp). A request while one is being delivered is a
// protocol fault; a reload closes the connection after its answer.
struct QmgrConn {
    server::ServerContext* ctx;
    Agent* agent;
    bool delivering = false;  // a request is taken: the connection stays until the answer
    bool answered = false;
    bool closing = false;     // a fault while delivering: no request after this one

    void on_frame(server::AttrConn& conn, const util::Attrs& frame) {
        if (delivering) return on_fault(conn, server::AttrConn::Fault::protocol, util::Error{"request before the answer"});
        auto decoded = mail::proto::decode_delivery_request(frame);
        if (!decoded) {
            util::msg_warn("smtp: refused request: {}", decoded.error().text);
            return conn.close();
        }
        delivering = true;
        conn.set_timeouts(0, 0);
        Request req;
        req.queue_id = std::move(decoded->queue_id);
        req.sender = std::move(decoded->sender);
        req.nexthop = std::move(decoded->nexthop);
        req.active_time = static_cast<double>(decoded->active_usec) / 1e6;
        req.handed_time = mail::now_seconds();
        for (auto& r : decoded->recipients) {
            Recipient rc;
            rc.offset = r.offset;
            rc.address = std::move(r.address);
            req.recipients.push_back(std::move(rc));
        }
        // Nothing closes the connection before the answer (on_fault): a qmgr
        // that went away only makes the answer fail to be written.
        agent->deliver(std::move(req), [this, &conn](const Request& done, bool site_dead) {
            answered = true;
            mail::proto::DeliveryResult result{site_dead, {}};
            for (const auto& r : done.recipients) result.recipients.push_back(r);  // the RecipientResult part
            conn.write(mail::proto::encode(result));
        });
    }

    void on_fault(server::AttrConn& conn, server::AttrConn::Fault kind, const util::Error& error) {
        if (!delivering) {
            if (kind == server::AttrConn::Fault::protocol) util::msg_warn("smtp: malformed request: {}", error.text);
            return conn.close();
        }
        if (answered) return conn.close();  // the answer could not be written
        closing = true;
        // qmgr went away mid-delivery: finish it anyway (its results are
        // logged); the connection goes when the answer cannot be written.
        if (kind == server::AttrConn::Fault::protocol) util::msg_warn("smtp: {}; ignored", error.text);
    }
};

}  // namespace

void serve_qmgr(server::ServerContext& ctx, Agent& agent, util::Fd client, server::ClientDone done) {
    auto c = std::make_shared<QmgrConn>(QmgrConn{&ctx, &agent});
    server::AttrConn::Handlers h;
    h.on_frame = [c](server::AttrConn& conn, util::Attrs frame) { c->on_frame(conn, frame); };
    h.on_fault = [c](server::AttrConn& conn, server::AttrConn::Fault kind, const util::Error& e) {
        c->on_fault(conn, kind, e);
    };
    // The answer has gone out: the next request may come, unless this
    // process is to exit (reload).
    long timeout = ctx.config.seconds("ipc_timeout");
    h.on_drained = [c, timeout](server::AttrConn& conn) {
        if (!c->answered) return;
        if (c->closing || c->ctx->draining) return conn.close();
        c->delivering = c->answered = false;
        conn.set_timeouts(timeout, timeout);
    };
    h.on_close = std::move(done);
    auto* conn = server::AttrConn::adopt(ctx.base, std::move(client), std::move(h));
    conn->set_timeouts(timeout, timeout);
}

}  // namespace kurir::smtp
