// qmgr's side of a delivery: one request to a delivery agent's private
// socket, on the event loop, answered by one result per recipient.
#include "qmgr/qmgr.hpp"
#include "util/attr.hpp"
#include "util/log.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmath>
#include <cstring>

namespace kurir::qmgr {

struct Delivery {
    Manager* mgr;
    Job job;
    bufferevent* bev = nullptr;
    bool finished = false;

    void finish_with(const std::vector<Outcome>* results, const std::string& reason, bool site_dead = false) {
        if (finished) return;
        finished = true;
        mgr->schedule_.finished(job);
        if (results)
            mgr->job_done(job, *results, site_dead);
        else
            mgr->defer_job(job, reason);
        bufferevent_free(bev);
        Manager* m = mgr;
        delete this;
        m->dispatch();
    }

    static void on_read(bufferevent* bev, void* arg) {
        auto* d = static_cast<Delivery*>(arg);
        evbuffer* in = bufferevent_get_input(bev);
        size_t len = evbuffer_get_length(in);
        auto* bytes = evbuffer_pullup(in, static_cast<ssize_t>(len));
        auto frame = util::attr_decode(std::string_view(reinterpret_cast<char*>(bytes), len));
        if (!frame) return d->finish_with(nullptr, "malformed reply from delivery agent");
        if (!*frame) return;  // wait for more
        if ((*frame)->consumed != len) return d->finish_with(nullptr, "delivery agent sent more than its result");
        auto result = mail::proto::decode_delivery_result((*frame)->attrs);
        if (!result) {
            util::msg_warn("{}: reply from {}: {}", d->job.message_id, d->job.transport, result.error().text);
            return d->finish_with(nullptr, "malformed reply from delivery agent");
        }
        d->finish_with(&result->recipients, "", result->site_dead);
    }

    static void on_event(bufferevent*, short what, void* arg) {
        auto* d = static_cast<Delivery*>(arg);
        if (what & BEV_EVENT_CONNECTED) return;
        std::string reason = "unknown mail transport error";
        if (what & BEV_EVENT_TIMEOUT) reason = "delivery agent timed out";
        if ((what & BEV_EVENT_ERROR) && d->connecting)
            reason = "connect to private/" + d->job.transport + ": " + std::strerror(EVUTIL_SOCKET_ERROR());
        d->finish_with(nullptr, reason);
    }
    bool connecting = true;
};

void Manager::start_job(Job job) {
    auto it = active_.find(job.message_id);
    if (it == active_.end()) return schedule_.finished(job);  // started by the schedule
    Message& m = it->second;
    m.jobs_waiting--;
    m.jobs_in_flight++;
    auto* d = new Delivery{this, std::move(job)};
    d->bev = bufferevent_socket_new(ctx_.base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(d->bev, Delivery::on_read, nullptr, Delivery::on_event, d);
    // Every request has a deadline: an agent that never answers gets its
    // recipients deferred and its connection closed. It is daemon_timeout
    // (Postfix's watchdog for a request, 18000s), far beyond the agent's own
    // bounds (command_time_limit, smtp_*_timeout), so that qmgr does not give
    // up on a delivery the agent is still finishing.
    struct timeval answer {static_cast<long>(ctx_.config.seconds("daemon_timeout")), 0};
    struct timeval send {static_cast<long>(ctx_.config.seconds("ipc_timeout")), 0};
    bufferevent_set_timeouts(d->bev, &answer, &send);
    bufferevent_enable(d->bev, EV_READ | EV_WRITE);

    mail::proto::DeliveryRequest req{m.id, m.env.sender, d->job.nexthop, std::llround(m.active_time * 1e6), {}};
    for (size_t off : d->job.offsets)
        for (const auto& r : m.env.recipients)
            if (r.offset == off) req.recipients.push_back({off, r.address});
    std::string frame = util::attr_encode(mail::proto::encode(req));
    bufferevent_write(d->bev, frame.data(), frame.size());

    std::string path = ctx_.queue.private_socket(d->job.transport);
    struct sockaddr_un sun {};
    sun.sun_family = AF_UNIX;
    if (path.size() >= sizeof sun.sun_path) return d->finish_with(nullptr, "socket path too long: " + path);
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    if (bufferevent_socket_connect(d->bev, reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0) {
        std::string reason = "connect to private/" + d->job.transport + ": " + std::strerror(errno);
        return d->finish_with(nullptr, reason);
    }
    d->connecting = false;
}

}  // namespace kurir::qmgr
