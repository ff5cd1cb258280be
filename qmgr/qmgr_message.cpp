// qmgr's message life: load a file from active/, split its recipients into
// delivery jobs, record outcomes, and finish (remove or defer) the file.
#include "mail/address.hpp"
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
#include <cerrno>
#include <cstring>
#include <ctime>

namespace kurir::qmgr {

void Manager::load(const std::string& id) {
    if (active_.count(id)) return;
    std::string path = ctx_.queue.path(mail::Queue::active, id);
    auto bytes = util::read_file(path);
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
    m.active_time = mail::now_seconds();
    size_t pending = 0;
    for (const auto& r : m.env.recipients) pending += r.done ? 0 : 1;
    util::msg_info("{}: from=<{}>, size={}, nrcpt={} (queue active)", id, mail::quote_address(m.env.sender),
                   m.env.content_size, m.env.recipients.size());
    if (pending == 0) {
        finish(m);
        return;
    }
    // One job per recipient for local (each has its own mailbox); one per
    // nexthop for the other transports.
    std::map<std::pair<std::string, std::string>, Job> grouped;
    for (const auto& r : m.env.recipients) {
        if (r.done) continue;
        auto res = rewrite_.resolve(r.address);
        if (!res) {
            m.defer_reasons.emplace_back(r.offset, "address resolver failure: " + res.error().text);
            continue;
        }
        if (res->transport == "local") {
            m.jobs_waiting++;
            waiting_[res->transport].push_back(Job{id, res->transport, res->nexthop, {r.offset}});
            continue;
        }
        auto& job = grouped[{res->transport, res->nexthop}];
        job.message_id = id;
        job.transport = res->transport;
        job.nexthop = res->nexthop;
        job.offsets.push_back(r.offset);
    }
    for (auto& [key, job] : grouped) {
        m.jobs_waiting++;
        waiting_[job.transport].push_back(std::move(job));
    }
    maybe_finish(m);
}

void Manager::job_done(const Job& job, const std::vector<std::string>& results) {
    auto it = active_.find(job.message_id);
    if (it == active_.end()) return;
    Message& m = it->second;
    m.jobs_in_flight--;
    std::vector<size_t> done_offsets;
    std::vector<size_t> answered;
    for (const auto& line : results) {
        size_t sp1 = line.find(' ');
        size_t sp2 = line.find(' ', sp1 == line.npos ? line.npos : sp1 + 1);
        if (sp1 == line.npos || sp2 == line.npos) continue;
        size_t offset = std::strtoul(line.substr(0, sp1).c_str(), nullptr, 10);
        if (std::find(job.offsets.begin(), job.offsets.end(), offset) == job.offsets.end()) continue;
        std::string dsn = line.substr(sp1 + 1, sp2 - sp1 - 1);
        std::string text = line.substr(sp2 + 1);
        answered.push_back(offset);
        if (dsn.starts_with("2")) {
            done_offsets.push_back(offset);
        } else if (dsn.starts_with("5")) {
            done_offsets.push_back(offset);
            m.bounces.emplace_back(offset, dsn + " " + text);
        } else {
            m.defer_reasons.emplace_back(offset, text);
        }
    }
    for (size_t off : job.offsets)
        if (std::find(answered.begin(), answered.end(), off) == answered.end())
            m.defer_reasons.emplace_back(off, "delivery agent gave no result");
    // When this result finishes the whole message, removing the file says
    // it all: no mark, no fsync (a crash before the unlink is durable means
    // a repeat delivery, the window that marking has too).
    bool last = m.jobs_in_flight == 0 && m.jobs_waiting == 0 &&
                std::all_of(m.env.recipients.begin(), m.env.recipients.end(), [&](const auto& r) {
                    return r.done || std::find(done_offsets.begin(), done_offsets.end(), r.offset) != done_offsets.end();
                });
    if (last) {
        for (auto& r : m.env.recipients) r.done = true;
    } else if (!done_offsets.empty()) {
        // Marked only after the delivery itself is durable. The mark is not
        // fsync'd here: a crash of any process keeps it (page cache), the
        // deferral path fsyncs the file, and a power loss before either only
        // repeats a delivery - it never loses one.
        std::string path = ctx_.queue.path(mail::Queue::active, m.id);
        auto fd = util::open_file(path, O_RDWR);
        bool ok = static_cast<bool>(fd);
        for (size_t off : done_offsets) {
            if (!ok) break;
            ok = static_cast<bool>(mail::mark_recipient_done(fd->get(), off));
        }
        if (!ok) {
            util::msg_warn("{}: cannot mark recipients done in {}; they may be delivered again", m.id, path);
        } else {
            for (auto& r : m.env.recipients)
                if (std::find(done_offsets.begin(), done_offsets.end(), r.offset) != done_offsets.end()) r.done = true;
        }
    }
    maybe_finish(m);
}

void Manager::defer_job(const Job& job, const std::string& reason) {
    auto it = active_.find(job.message_id);
    if (it == active_.end()) return;
    Message& m = it->second;
    m.jobs_in_flight--;
    double now = mail::now_seconds();
    for (size_t off : job.offsets) {
        m.defer_reasons.emplace_back(off, reason);
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

void Manager::finish(Message& m) {
    std::string id = m.id;
    std::string path = ctx_.queue.path(mail::Queue::active, id);
    for (const auto& [off, reason] : m.bounces)
        for (const auto& r : m.env.recipients)
            if (r.offset == off)
                util::msg_warn("{}: no bounce notice sent yet for <{}>: {}", id, mail::quote_address(r.address),
                               reason);
    bool all_done = std::all_of(m.env.recipients.begin(), m.env.recipients.end(), [](auto& r) { return r.done; });
    if (all_done) {
        if (::unlink(path.c_str()) < 0)
            util::msg_warn("{}: remove {}: {}", id, path, std::strerror(errno));
        else
            util::msg_info("{}: removed", id);
        active_.erase(id);
        return;
    }
    // Keep the reasons with the file (appended records, closed by their own
    // end record), then wait in deferred/ until the next attempt.
    std::string tail;
    for (const auto& [off, reason] : m.defer_reasons)
        mail::rec_append(tail, mail::rec::defer, std::to_string(off) + " " + reason);
    mail::rec_append(tail, mail::rec::end, "");
    if (auto fd = util::open_file(path, O_WRONLY | O_APPEND); fd) {
        if (!util::write_all(fd->get(), tail, path) || ::fsync(fd->get()) < 0)
            util::msg_warn("{}: cannot record defer reasons in {}", id, path);
    }
    double age = mail::now_seconds() - static_cast<double>(m.env.arrival_sec);
    double delay = std::clamp(age, static_cast<double>(ctx_.config.seconds("minimal_backoff_time")),
                              static_cast<double>(ctx_.config.seconds("maximal_backoff_time")));
    struct utimbuf tb {};
    tb.actime = tb.modtime = static_cast<time_t>(std::time(nullptr) + static_cast<time_t>(delay));
    ::utime(path.c_str(), &tb);
    if (auto mv = ctx_.queue.move(id, mail::Queue::active, mail::Queue::deferred); !mv)
        util::msg_warn("{}: {}", id, mv.error().text);
    active_.erase(id);
}

}  // namespace kurir::qmgr
