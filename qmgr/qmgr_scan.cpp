// qmgr's queue scans and its scheduler: incoming/ and due deferred/ files
// move to active/; waiting jobs go out as the schedule lets them.
#include "mail/address.hpp"
#include "mail/delivery_log.hpp"
#include "mail/queue_listing.hpp"
#include "qmgr/qmgr.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

#include <event2/event.h>
#include <dirent.h>
#include <sys/stat.h>
#include <utime.h>

#include <ctime>

namespace kurir::qmgr {

namespace {

// cleanup writes ".ID.tmp" and renames it to ID only when it is durable; a
// temp file whose writer died (and whose client never got 250) is garbage
// once no cleanup could still be writing it.
void remove_stale_temp_files(const std::string& dir, long max_age) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    time_t now = std::time(nullptr);
    while (struct dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.size() < 6 || name[0] != '.' || !name.ends_with(".tmp")) continue;
        std::string path = dir + "/" + name;
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && st.st_mtime + max_age < now && ::unlink(path.c_str()) == 0)
            util::msg_info("removed stale temporary file {}", path);
    }
    ::closedir(d);
}
}  // namespace

Manager::Manager(server::ServerContext& ctx)
    : ctx_(ctx), rewrite_(ctx.queue), schedule_(schedule_limits(ctx.config), mail::now_seconds) {}

Manager::~Manager() {
    if (timer_) event_free(timer_);
}

void Manager::start() {
    // Anything in active/ was being delivered when qmgr stopped: start over
    // (recipients already marked done are skipped).
    for (const auto& id : ctx_.queue.list(mail::Queue::active)) load(id);
    remove_stale_temp_files(ctx_.queue.dir(mail::Queue::incoming), ctx_.config.seconds("ipc_timeout"));
    scan_incoming();
    scan_deferred(false);
    timer_ = event_new(
        ctx_.base, -1, EV_PERSIST,
        [](evutil_socket_t, short, void* arg) {
            auto* m = static_cast<Manager*>(arg);
            remove_stale_temp_files(m->ctx_.queue.dir(mail::Queue::incoming), m->ctx_.config.seconds("ipc_timeout"));
            m->scan_incoming();
            m->scan_deferred(false);
        },
        this);
    struct timeval tv {static_cast<long>(ctx_.config.seconds("queue_run_delay")), 0};
    event_add(timer_, &tv);
}

std::string Manager::on_trigger(std::string_view bytes) {
    auto request = mail::proto::decode_trigger_bytes(bytes);
    if (!request) {
        util::msg_warn("public/{}: {}", mail::service::qmgr, request.error().text);
        return {};
    }
    using Kind = mail::proto::Trigger::Kind;
    // An administrator's flush applies what main.cf says now (defer_transports
    // just emptied, say), even when it arrives before the reload does.
    bool flush = request->kind == Kind::flush || request->kind == Kind::flush_site || request->kind == Kind::deliver_one;
    if (flush && server::refresh_config(ctx_)) {
        util::msg_info("configuration reread (main.cf changed)");
        schedule_.set_limits(schedule_limits(ctx_.config));
    }
    switch (request->kind) {
        case Kind::list: return mail::proto::encode_queue_listing(mail::list_queue(ctx_.queue));
        case Kind::deliver_one: deliver_now(request->arg); return {};
        case Kind::flush_site: flush_site(request->arg); return {};
        default: break;
    }
    if (!flush) {
        schedule_incoming_scan();
        return {};
    }
    schedule_.revive_all();  // an administrator's flush tries every site now
    scan_incoming();
    scan_deferred(true);
    return {};
}

void Manager::deliver_now(const std::string& id) {
    if (!mail::valid_queue_id(id) || active_.count(id)) return;
    if (ctx_.draining) {  // due now, on disk: the next qmgr takes it at its start
        std::string path = ctx_.queue.path(mail::Queue::deferred, id);
        ::utime(path.c_str(), nullptr);
        return;
    }
    if (ctx_.queue.move(id, mail::Queue::deferred, mail::Queue::active)) load(id);
    dispatch();
}

void Manager::flush_site(const std::string& site) {
    std::string want = mail::lowercase(site);
    schedule_.revive_site(want);
    for (const auto& id : ctx_.queue.list(mail::Queue::deferred)) {
        auto bytes = util::read_regular(ctx_.queue.path(mail::Queue::deferred, id));
        if (!bytes) continue;
        auto env = mail::parse_queue_file(*bytes);
        if (!env) continue;
        for (const auto& r : env->recipients)
            if (!r.done && mail::lowercase(mail::domain_part(r.address)) == want) {
                deliver_now(id);
                break;
            }
    }
}

// A scan that stopped at the active limit goes on when half of active/ has
// drained, so a backlog flows without waiting for the next queue run.
size_t Manager::active_limit() const {
    return static_cast<size_t>(ctx_.config.integer("qmgr_message_active_limit"));
}

void Manager::message_left_active() {
    if (refill_scheduled_ || (!more_incoming_ && !more_deferred_) || active_.size() > active_limit() / 2) return;
    refill_scheduled_ = true;
    struct timeval now {0, 0};
    event_base_once(ctx_.base, -1, EV_TIMEOUT, [](evutil_socket_t, short, void* arg) {
        auto* self = static_cast<Manager*>(arg);
        self->refill_scheduled_ = false;
        bool incoming = self->more_incoming_, deferred = self->more_deferred_;
        self->more_incoming_ = self->more_deferred_ = false;
        if (incoming) self->scan_incoming();
        if (deferred) self->scan_deferred(false);
    }, this, &now);
}

void Manager::schedule_incoming_scan() {
    if (incoming_scan_scheduled_) return;
    incoming_scan_scheduled_ = true;
    struct timeval now {0, 0};
    int scheduled = event_base_once(ctx_.base, -1, EV_TIMEOUT, [](evutil_socket_t, short, void* arg) {
        auto* self = static_cast<Manager*>(arg);
        self->incoming_scan_scheduled_ = false;
        self->scan_incoming();
    }, this, &now);
    if (scheduled < 0) {  // no memory for the event: scan now rather than never
        incoming_scan_scheduled_ = false;
        scan_incoming();
    }
}

// A qmgr that a reload retired (draining) moves nothing more into active/:
// it would only log the message and leave it there for the next qmgr, which
// starts when this one has exited and logs it again.
void Manager::scan_incoming() {
    if (ctx_.draining) return;
    for (const auto& id : ctx_.queue.list(mail::Queue::incoming)) {
        if (active_.size() >= active_limit()) {
            more_incoming_ = true;
            break;
        }
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
    std::vector<std::string> ids = ctx_.queue.list(mail::Queue::deferred);
    if (all) {
        // A flush makes every deferred message due now, on disk: what the
        // active limit leaves for later (or a qmgr that takes over after a
        // reload) sees them due too.
        struct utimbuf due {now, now};
        for (const auto& id : ids) ::utime(ctx_.queue.path(mail::Queue::deferred, id).c_str(), &due);
    }
    if (ctx_.draining) return;
    for (const auto& id : ids) {
        if (active_.size() >= active_limit()) {
            more_deferred_ = true;
            break;
        }
        struct stat st {};
        std::string path = ctx_.queue.path(mail::Queue::deferred, id);
        if (::stat(path.c_str(), &st) < 0) continue;
        if (st.st_mtime > now) continue;  // mtime holds the next attempt time
        if (auto mv = ctx_.queue.move(id, mail::Queue::deferred, mail::Queue::active); !mv) {
            util::msg_warn("{}", mv.error().text);
            continue;
        }
        load(id);
    }
    dispatch();
}

int Manager::deliveries_in_flight() const {
    return schedule_.in_flight();
}

void Manager::dispatch() {
    if (ctx_.draining) return;  // the next qmgr takes what waits in active/
    // A job that fails at once (no agent socket) finishes inside start_job,
    // which dispatches again: run that as another pass of this loop.
    if (dispatching_) {
        dispatch_again_ = true;
        return;
    }
    dispatching_ = true;
    do {
        dispatch_again_ = false;
        dispatch_pass();
    } while (dispatch_again_);
    dispatching_ = false;
}

// The schedule says which job goes next (qmgr_schedule.hpp): started on its
// transport's socket, or deferred at once when its destination is held.
void Manager::dispatch_pass() {
    while (auto next = schedule_.next()) {
        if (next->start) {
            start_job(std::move(next->job));
            continue;
        }
        auto m = active_.find(next->job.message_id);
        if (m != active_.end()) m->second.jobs_waiting--, m->second.jobs_in_flight++;
        defer_job(next->job, next->reason);
    }
}

}  // namespace kurir::qmgr
