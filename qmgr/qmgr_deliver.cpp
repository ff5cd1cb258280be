// qmgr's side of a delivery: one request to a delivery agent's private
// socket, on the event loop, answered by one result per recipient.
#include "qmgr/qmgr.hpp"
#include "server/attr_conn.hpp"
#include "util/log.hpp"

#include <cmath>
#include <memory>

namespace kurir::qmgr {

struct Delivery {
    Manager* mgr;
    Job job;
    bool finished = false;

    // The one end of every delivery: the outcome recorded (results, or all
    // recipients deferred for reason), the connection closed, the next job
    // started.
    void finish(server::AttrConn* conn, const std::vector<Outcome>* results, const std::string& reason,
                bool site_dead = false) {
        if (finished) return;
        finished = true;
        mgr->schedule_.finished(job);
        if (results)
            mgr->job_done(job, *results, site_dead);
        else
            mgr->defer_job(job, reason);
        if (conn) conn->close();
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

    void on_fault(server::AttrConn& conn, server::AttrConn::Fault kind, const util::Error& error) {
        using Fault = server::AttrConn::Fault;
        if (kind == Fault::protocol) {
            util::msg_warn("{}: reply from {}: {}", job.message_id, job.transport, error.text);
            return finish(&conn, nullptr, "malformed reply from delivery agent");
        }
        finish(&conn, nullptr, kind == Fault::timeout ? "delivery agent timed out" : "unknown mail transport error");
    }
};

void Manager::start_job(Job job) {
    auto it = active_.find(job.message_id);
    if (it == active_.end()) return schedule_.finished(job);  // started by the schedule
    Message& m = it->second;
    m.jobs_waiting--;
    m.jobs_in_flight++;
    auto d = std::make_shared<Delivery>(Delivery{this, std::move(job)});

    server::AttrConn::Handlers h;
    h.max_frames = 1;
    h.on_frame = [d](server::AttrConn& conn, util::Attrs frame) { d->on_frame(conn, frame); };
    h.on_fault = [d](server::AttrConn& conn, server::AttrConn::Fault kind, const util::Error& e) {
        d->on_fault(conn, kind, e);
    };
    auto conn = server::AttrConn::connect(ctx_.base, ctx_.queue.private_socket(d->job.transport), std::move(h));
    if (!conn) {
        util::msg_warn("{}: {}", d->job.message_id, conn.error().text);
        std::string why = conn.error().text;
        if (auto colon = why.rfind(": "); colon != std::string::npos) why = why.substr(colon + 2);
        return d->finish(nullptr, nullptr, "connect to private/" + d->job.transport + ": " + why);
    }
    // Every request has a deadline: an agent that never answers gets its
    // recipients deferred and its connection closed. It is daemon_timeout
    // (Postfix's watchdog for a request, 18000s), far beyond the agent's own
    // bounds (command_time_limit, smtp_*_timeout), so that qmgr does not give
    // up on a delivery the agent is still finishing.
    (*conn)->set_timeouts(ctx_.config.seconds("daemon_timeout"), ctx_.config.seconds("ipc_timeout"));

    mail::proto::DeliveryRequest req{m.id, m.env.sender, d->job.nexthop, std::llround(m.active_time * 1e6), {}};
    for (size_t off : d->job.offsets)
        for (const auto& r : m.env.recipients)
            if (r.offset == off) req.recipients.push_back({off, r.address});
    (*conn)->write(mail::proto::encode(req));
}

}  // namespace kurir::qmgr
