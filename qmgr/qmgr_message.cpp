// qmgr's message life: load a file from active/, split its recipients into
// delivery jobs, record outcomes, and finish (remove or defer) the file.
#include "mail/address.hpp"
#include "mail/bounce_message.hpp"
#include "mail/dsn_params.hpp"
#include "mail/delivery_log.hpp"
#include "mail/record.hpp"
#include "qmgr/qmgr.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <algorithm>
#include <ctime>

namespace kurir::qmgr {

void Manager::load(const std::string& id) {
    if (active_.count(id)) return;
    std::string path = ctx_.queue.path(mail::Queue::active, id);
    auto bytes = util::read_regular(path);
    if (!bytes) {
        util::msg_warn("{}: {}", id, bytes.error().text);
        return;
    }
    auto env = mail::parse_queue_file(*bytes);
    if (!env) {
        util::msg_warn("{}: {}; moved to corrupt", id, env.error().text);
        if (auto mv = ctx_.queue.move(id, mail::Queue::active, mail::Queue::corrupt); !mv)
            util::msg_warn("{}", mv.error().text);
        return;
    }
    Message& m = active_[id];
    m.id = id;
    m.env = std::move(*env);
    std::erase_if(m.env.attrs, [](const auto& a) {
        return std::find(kAttributesRead.begin(), kAttributesRead.end(), a.first) == kAttributesRead.end();
    });
    m.env.attrs.shrink_to_fit();
    m.active_time = mail::now_seconds();
    struct stat st {};
    m.force_expire = ::stat(path.c_str(), &st) == 0 && (st.st_mode & mail::kForcedExpireMode) != 0;
    size_t pending = 0;
    for (const auto& r : m.env.recipients) pending += r.done ? 0 : 1;
    util::msg_info("{}: from=<{}>, size={}, nrcpt={} (queue active)", id, mail::quote_address(m.env.sender),
                   m.env.content_size, m.env.recipients.size());
    if (pending == 0) {
        finish(m);
        return;
    }
    if (m.force_expire) {
        // Administratively expired: no delivery, every recipient left goes
        // back to the sender (with the reason it was deferred, if any).
        for (const auto& r : m.env.recipients)
            if (!r.done)
                m.deferred.push_back(temporary_outcome(
                    r.offset, r.defer_reason.empty() ? "message is administratively expired" : r.defer_reason));
        maybe_finish(m);
        return;
    }
    // A header/body_checks FILTER transport:destination (cleanup's
    // content_filter record) sends every recipient there, as Postfix's qmgr;
    // without a destination the recipient's own next hop is used.
    std::string filter = m.env.attr("content_filter");
    size_t colon = filter.find(':');
    std::vector<Route> routes;
    for (const auto& r : m.env.recipients) {
        if (r.done) continue;
        auto res = rewrite_.resolve(r.address, m.env.sender);
        if (!res) {
            m.deferred.push_back(temporary_outcome(r.offset, "address resolver failure: " + res.error().text));
            continue;
        }
        if (colon != std::string::npos && colon > 0) {
            std::string nexthop = filter.substr(colon + 1);
            routes.push_back({r.offset, filter.substr(0, colon), nexthop.empty() ? res->nexthop : nexthop});
            continue;
        }
        routes.push_back({r.offset, res->transport, res->nexthop});
    }
    for (auto& job : make_jobs(id, routes, schedule_.limits())) {
        m.jobs_waiting++;
        schedule_.add(std::move(job));
    }
    maybe_finish(m);
}

void Manager::job_done(const Job& job, const std::vector<Outcome>& results, bool site_dead) {
    auto it = active_.find(job.message_id);
    if (it == active_.end()) return;
    Message& m = it->second;
    m.jobs_in_flight--;
    auto in_job = [&](size_t off) { return std::find(job.offsets.begin(), job.offsets.end(), off) != job.offsets.end(); };
    std::vector<size_t> done_offsets;
    std::vector<size_t> answered;
    for (const auto& o : results) {
        if (!in_job(o.offset) || std::find(answered.begin(), answered.end(), o.offset) != answered.end()) continue;
        answered.push_back(o.offset);
        if (o.dsn.starts_with("2")) {
            done_offsets.push_back(o.offset);
            for (const auto& r : m.env.recipients)
                if (r.offset == o.offset && o.action != "none" && mail::wants_notice(r.notify, mail::notify::success)) {
                    Outcome d = o;
                    if (d.action.empty()) d.action = job.transport == "local" ? "delivered" : "relayed";
                    m.delivered.push_back(std::move(d));
                }
        }
        else if (o.dsn.starts_with("5"))
            m.bounced.push_back(o);
        else
            m.deferred.push_back(o);
    }
    for (size_t off : job.offsets)
        if (std::find(answered.begin(), answered.end(), off) == answered.end())
            m.deferred.push_back(temporary_outcome(off, "delivery agent gave no result"));
    bool answered_by_server = std::any_of(results.begin(), results.end(), [](const Outcome& o) {
        return o.dsn.starts_with("2") || !o.remote_mta.empty();
    });
    if (!site_dead && answered_by_server) schedule_.site_alive(job.destination());
    if (site_dead) {
        const Outcome* why = nullptr;
        for (const auto& o : m.deferred)
            if (in_job(o.offset)) why = &o;
        schedule_.site_dead(job.destination(), why ? why->text : "no server reachable");
    }
    // Marked only after the delivery itself is durable, and marked even when
    // this finishes the message: its file is removed on the remover's time,
    // and a qmgr killed before that must find the recipients done. The mark
    // is not fsync'd: a crash of any process keeps it (page cache), the
    // deferral path fsyncs the file, and a power loss before either only
    // repeats a delivery - it never loses one.
    if (!done_offsets.empty()) mark_done(m, done_offsets);
    maybe_finish(m);
}

void Manager::mark_done(Message& m, const std::vector<size_t>& offsets) {
    std::string path = ctx_.queue.path(mail::Queue::active, m.id);
    auto fd = util::open_file(path, O_RDWR);
    bool ok = static_cast<bool>(fd);
    for (size_t off : offsets) {
        if (!ok) break;
        ok = static_cast<bool>(mail::mark_recipient_done(fd->get(), off));
    }
    if (!ok) util::msg_warn("{}: cannot mark recipients done in {}; they may be delivered again", m.id, path);
    // Finished for this pass either way (delivered, or their notice queued).
    for (auto& r : m.env.recipients)
        if (std::find(offsets.begin(), offsets.end(), r.offset) != offsets.end()) r.done = true;
}

void Manager::defer_job(const Job& job, const std::string& reason) {
    auto it = active_.find(job.message_id);
    if (it == active_.end()) return;
    Message& m = it->second;
    m.jobs_in_flight--;
    double now = mail::now_seconds();
    for (size_t off : job.offsets) {
        m.deferred.push_back(temporary_outcome(off, reason));
        for (const auto& r : m.env.recipients)
            if (r.offset == off) {
                mail::DeliveryTimes t{m.env.arrival_sec + m.env.arrival_usec / 1e6, m.active_time, now, now, now};
                util::msg_info("{}", mail::delivery_log_line(m.id, r.address, r.original, "none", t, "4.3.0", reason));
            }
    }
    maybe_finish(m);
}

void Manager::maybe_finish(Message& m) {
    if (m.jobs_in_flight == 0 && m.jobs_waiting == 0) finish(m);
}

// Recipients still deferred past the queue lifetime (or in a message
// kurir-super expired) bounce with their last reason.
void Manager::expire(Message& m) {
    bool null_sender = m.env.sender.empty();
    long lifetime = ctx_.config.seconds(null_sender ? "bounce_queue_lifetime" : "maximal_queue_lifetime");
    double age = mail::now_seconds() - static_cast<double>(m.env.arrival_sec);
    if (m.deferred.empty() || (!m.force_expire && age < static_cast<double>(lifetime))) return;
    double now = mail::now_seconds();
    for (auto& o : m.deferred) {
        for (const auto& r : m.env.recipients)
            if (r.offset == o.offset && !r.done) {
                mail::DeliveryTimes t{m.env.arrival_sec + m.env.arrival_usec / 1e6, m.active_time, now, now, now};
                std::string line = mail::delivery_log_line(m.id, r.address, r.original, "none", t, o.dsn, o.text,
                                                           "expired, returned to sender");
                util::msg_info("{}", line);
            }
        if (!m.force_expire) o.text = "message delivery timed out: " + o.text;
        if (!o.dsn.starts_with("4") || m.force_expire) o.dsn = "4.4.7";
        m.bounced.push_back(std::move(o));
    }
    m.deferred.clear();
}

// delay_warning_time (0: off): one warning per message, once it is that old.
bool Manager::delay_warning_due(const Message& m) const {
    long after = ctx_.config.seconds("delay_warning_time");
    if (after <= 0 || m.deferred.empty() || !m.env.attr("delay_warned").empty()) return false;
    return mail::now_seconds() - static_cast<double>(m.env.arrival_sec) >= static_cast<double>(after);
}

void Manager::finish(Message& m) {
    std::string id = m.id;
    std::string path = ctx_.queue.path(mail::Queue::active, id);
    expire(m);
    if (!m.delivered.empty()) {
        // Best effort: a lost success notice is not worth a repeated delivery.
        send_notice(m, mail::NoticeKind::success, m.delivered);
        m.delivered.clear();
    }
    if (!m.bounced.empty()) {
        std::vector<size_t> offsets;
        for (const auto& o : m.bounced) offsets.push_back(o.offset);
        if (send_notice(m, mail::NoticeKind::failure, m.bounced)) {
            mark_done(m, offsets);
        } else {
            for (auto& o : m.bounced) {
                o.text = "bounce notice not sent yet: " + o.text;
                o.dsn = "4.3.0";
                m.deferred.push_back(std::move(o));
            }
        }
        m.bounced.clear();
    }
    bool all_done = std::all_of(m.env.recipients.begin(), m.env.recipients.end(), [](auto& r) { return r.done; });
    if (all_done) {
        // Gone for qmgr from here on; the unlink itself runs on the remover
        // (logged first: a reader who sees the file gone finds the line).
        util::msg_info("{}: removed", id);
        remover_.remove(path);
        for (const auto& failure : remover_.take_failures()) util::msg_warn("{}", failure);
        active_.erase(id);
        message_left_active();
        return;
    }
    // Keep the reasons with the file (appended records, closed by their own
    // end record), then wait in deferred/ until the next attempt.
    std::string tail;
    for (const auto& o : m.deferred)
        mail::rec_append(tail, mail::rec::defer, std::to_string(o.offset) + " " + o.text);
    if (delay_warning_due(m) && send_notice(m, mail::NoticeKind::delay, m.deferred))
        mail::rec_append(tail, mail::rec::attr, "delay_warned=1");
    mail::rec_append(tail, mail::rec::end, "");
    if (auto fd = util::open_file(path, O_WRONLY | O_APPEND); fd) {
        if (!util::write_all(fd->get(), tail, path) || ::fsync(fd->get()) < 0)
            util::msg_warn("{}: cannot record defer reasons in {}", id, path);
    }
    // The next attempt waits as long as the message is old, within the
    // backoff bounds (Postfix's rule): the waits double as the message ages.
    struct utimbuf tb {};
    tb.actime = tb.modtime = static_cast<time_t>(schedule_.next_attempt(static_cast<double>(m.env.arrival_sec)));
    ::utime(path.c_str(), &tb);
    if (auto mv = ctx_.queue.move(id, mail::Queue::active, mail::Queue::deferred); !mv)
        util::msg_warn("{}: {}", id, mv.error().text);
    active_.erase(id);
    message_left_active();
}

}  // namespace kurir::qmgr
