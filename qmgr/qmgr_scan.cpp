// qmgr's queue scans and its scheduler: incoming/ and due deferred/ files
// move to active/; waiting jobs go out while their transport has room.
#include "qmgr/qmgr.hpp"
#include "util/log.hpp"

#include <event2/event.h>
#include <sys/stat.h>

#include <ctime>

namespace kurir::qmgr {

namespace {
constexpr size_t kActiveLimit = 20000;  // Postfix's qmgr_message_active_limit
}

Manager::Manager(server::ServerContext& ctx) : ctx_(ctx), rewrite_(ctx.queue) {}

void Manager::start() {
    // Anything in active/ was being delivered when qmgr stopped: start over
    // (recipients already marked done are skipped).
    for (const auto& id : ctx_.queue.list(mail::Queue::active)) load(id);
    scan_incoming();
    scan_deferred(false);
    timer_ = event_new(
        ctx_.base, -1, EV_PERSIST,
        [](evutil_socket_t, short, void* arg) {
            auto* m = static_cast<Manager*>(arg);
            m->scan_incoming();
            m->scan_deferred(false);
        },
        this);
    struct timeval tv {static_cast<long>(ctx_.config.seconds("queue_run_delay")), 0};
    event_add(timer_, &tv);
}

void Manager::on_trigger(std::string_view request) {
    bool flush = request.find(mail::trigger::flush) != std::string_view::npos;
    scan_incoming();
    if (flush) scan_deferred(true);
}

void Manager::scan_incoming() {
    for (const auto& id : ctx_.queue.list(mail::Queue::incoming)) {
        if (active_.size() >= kActiveLimit) break;
        if (auto mv = ctx_.queue.move(id, mail::Queue::incoming, mail::Queue::active); !mv) {
            util::msg_warn("{}", mv.error().text);
            continue;
        }
        load(id);
    }
    dispatch();
}

void Manager::scan_deferred(bool all) {
    time_t now = std::time(nullptr);
    for (const auto& id : ctx_.queue.list(mail::Queue::deferred)) {
        if (active_.size() >= kActiveLimit) break;
        struct stat st {};
        std::string path = ctx_.queue.path(mail::Queue::deferred, id);
        if (::stat(path.c_str(), &st) < 0) continue;
        if (!all && st.st_mtime > now) continue;  // mtime holds the next attempt time
        if (auto mv = ctx_.queue.move(id, mail::Queue::deferred, mail::Queue::active); !mv) {
            util::msg_warn("{}", mv.error().text);
            continue;
        }
        load(id);
    }
    dispatch();
}

int Manager::transport_limit(const std::string&) const {
    return static_cast<int>(ctx_.config.integer("default_destination_concurrency_limit"));
}

void Manager::dispatch() {
    for (auto& [transport, jobs] : waiting_) {
        while (!jobs.empty() && busy_[transport] < transport_limit(transport)) {
            Job job = std::move(jobs.front());
            jobs.pop_front();
            start_job(std::move(job));
        }
    }
}

}  // namespace kurir::qmgr
