// qmgr's side of a delivery: one request to a delivery agent's private
// socket, on the event loop, answered by one result per recipient. The
// connection of an answered request is kept for the transport's next one
// (server/kept_conns.hpp).
#include "qmgr/qmgr.hpp"
#include "server/attr_conn.hpp"
#include "util/log.hpp"

#include <cmath>
#include <memory>

namespace kurir::qmgr {

struct Delivery {
    Manager* mgr;
    Job job;
    mail::proto::DeliveryRequest request;
    bool reused = false;  // sent on a kept connection
    bool finished = false;

    // The one end of every delivery: the outcome recorded (results, or all
    // recipients deferred for reason), the connection kept (an answer) or
    // closed, the next job started.
    void finish(server::AttrConn* conn, const std::vector<Outcome>* results, const std::string& reason,
                bool site_dead = false) {
        if (finished) return;
        finished = true;
        mgr->schedule_.finished(job);
        if (results)
            mgr->job_done(job, *results, site_dead);
        else
            mgr->defer_job(job, reason);
        if (conn && results && !mgr->ctx_.draining)
            mgr->agents_.keep(job.transport, conn, mgr->ctx_.config.seconds("ipc_idle"));
        else if (conn)
            conn->close();
        mgr->dispatch();
    }

    void on_frame(server::AttrConn& conn, const util::Attrs& frame) {
        auto result = mail::proto::decode_delivery_result(frame);
        if (!result) {
            util::msg_warn("{}: reply from {}: {}", job.message_id, job.transport, result.error().text);
            return finish(&conn, nullptr, "malformed reply from delivery agent");
        }
        finish(&conn, &result->recipients, "", result->site_dead);
    }

    void on_fault(const std::shared_ptr<Delivery>& self, server::AttrConn& conn, server::AttrConn::Fault kind,
                  const util::Error& error) {
        using Fault = server::AttrConn::Fault;
        // A kept connection that the agent closed (max_use, max_idle, a
        // reload, a crash) without reading all of the request: it cannot
        // have delivered any of it. Sent once more, on a new connection.
        if (reused && (kind == Fault::reset || (kind == Fault::closed && conn.unsent() > 0))) {
            conn.close();
            return send(self, false);
        }
        if (kind == Fault::protocol) {
            util::msg_warn("{}: reply from {}: {}", job.message_id, job.transport, error.text);
            return finish(&conn, nullptr, "malformed reply from delivery agent");
        }
        finish(&conn, nullptr, kind == Fault::timeout ? "delivery agent timed out" : "unknown mail transport error");
    }

    // Sends d's request on a kept connection when may_reuse and one is
    // there, else on a new one.
    static void send(const std::shared_ptr<Delivery>& d, bool may_reuse);
};

void Delivery::send(const std::shared_ptr<Delivery>& d, bool may_reuse) {
    Manager* mgr = d->mgr;
    const Job& job = d->job;
    server::AttrConn::Handlers h;
    h.max_frames = 1;
    h.on_frame = [d](server::AttrConn& conn, util::Attrs frame) { d->on_frame(conn, frame); };
    h.on_fault = [d](server::AttrConn& conn, server::AttrConn::Fault kind, const util::Error& e) {
        d->on_fault(d, conn, kind, e);
    };
    server::AttrConn* conn = may_reuse ? mgr->agents_.take(job.transport) : nullptr;
    d->reused = conn != nullptr;
    if (conn) {
        conn->rebind(std::move(h));
    } else {
        auto made = server::AttrConn::connect(mgr->ctx_.base, mgr->ctx_.queue.private_socket(job.transport), std::move(h));
        if (!made) {
            util::msg_warn("{}: {}", job.message_id, made.error().text);
            std::string why = made.error().text;
            if (auto colon = why.rfind(": "); colon != std::string::npos) why = why.substr(colon + 2);
            return d->finish(nullptr, nullptr, "connect to private/" + job.transport + ": " + why);
        }
        conn = *made;
    }
    // Every request has a deadline: an agent that never answers gets its
    // recipients deferred and its connection closed. It is daemon_timeout
    // (Postfix's watchdog for a request, 18000s), far beyond the agent's own
    // bounds (command_time_limit, smtp_*_timeout), so that qmgr does not give
    // up on a delivery the agent is still finishing.
    conn->set_timeouts(mgr->ctx_.config.seconds("daemon_timeout"), mgr->ctx_.config.seconds("ipc_timeout"));
    conn->write(mail::proto::encode(d->request));
}

void Manager::start_job(Job job) {
    auto it = active_.find(job.message_id);
    if (it == active_.end()) return schedule_.finished(job);  // started by the schedule
    Message& m = it->second;
    m.jobs_waiting--;
    m.jobs_in_flight++;
    mail::proto::DeliveryRequest req{m.id, m.env.sender, job.nexthop, std::llround(m.active_time * 1e6), {}};
    for (size_t off : job.offsets)
        for (const auto& r : m.env.recipients)
            if (r.offset == off) req.recipients.push_back({off, r.address});
    Delivery::send(std::make_shared<Delivery>(Delivery{this, std::move(job), std::move(req)}), true);
}

}  // namespace kurir::qmgr
