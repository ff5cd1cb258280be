// qmgr's schedule: which job starts next, and when a deferred message is
// tried again. The rules are in qmgr_schedule.hpp.
#include "qmgr/qmgr_schedule.hpp"

#include "mail/config.hpp"
#include "mail/params.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

namespace kurir::qmgr {

namespace {
constexpr std::string_view kConcurrencySuffix = "_destination_concurrency_limit";
constexpr std::string_view kRecipientSuffix = "_destination_recipient_limit";
}  // namespace

int ScheduleLimits::concurrency_limit(const std::string& transport) const {
    auto it = concurrency.find(transport);
    return it != concurrency.end() ? it->second : default_concurrency;
}

size_t ScheduleLimits::recipient_limit(const std::string& transport) const {
    auto it = recipients.find(transport);
    return it != recipients.end() ? it->second : default_recipients;
}

bool ScheduleLimits::deferred_transport(const std::string& transport) const {
    return std::find(defer_transports.begin(), defer_transports.end(), transport) != defer_transports.end();
}

ScheduleLimits schedule_limits(const mail::Config& cfg) {
    ScheduleLimits l;
    l.default_concurrency = static_cast<int>(cfg.integer("default_destination_concurrency_limit"));
    l.default_recipients = static_cast<size_t>(cfg.integer("default_destination_recipient_limit"));
    // The table's own (smtp_...) and any master.cf service's that main.cf
    // sets (relay_destination_recipient_limit, dovecot_...).
    std::vector<std::string> names;
    for (const auto& p : mail::param_table()) names.emplace_back(p.name);
    for (const auto& [name, value] : cfg.explicit_values())
        if (mail::per_service_param(name) && !mail::find_param(name)) names.push_back(name);
    for (const auto& name : names) {
        if (name.starts_with("default_")) continue;
        if (name.ends_with(kConcurrencySuffix)) {
            std::string transport = name.substr(0, name.size() - kConcurrencySuffix.size());
            if (transport != "local") l.concurrency[transport] = static_cast<int>(cfg.integer(name));
        } else if (name.ends_with(kRecipientSuffix)) {
            std::string transport = name.substr(0, name.size() - kRecipientSuffix.size());
            l.recipients[transport] = static_cast<size_t>(cfg.integer(name));
        }
    }
    l.defer_transports = cfg.list("defer_transports");
    l.minimal_backoff = static_cast<double>(cfg.seconds("minimal_backoff_time"));
    l.maximal_backoff = static_cast<double>(cfg.seconds("maximal_backoff_time"));
    return l;
}

std::vector<Job> make_jobs(const std::string& message_id, const std::vector<Route>& routes,
                           const ScheduleLimits& limits) {
    std::vector<Job> out;
    std::map<std::pair<std::string, std::string>, std::vector<Job>> grouped;
    for (const auto& r : routes) {
        if (r.transport == "local") {
            out.push_back(Job{message_id, r.transport, r.nexthop, {r.offset}});
            continue;
        }
        auto& jobs = grouped[{r.transport, r.nexthop}];
        // One request per transaction's worth of recipients, so that no
        // request runs for long and each result comes back on its own.
        if (jobs.empty() || jobs.back().offsets.size() >= limits.recipient_limit(r.transport))
            jobs.push_back(Job{message_id, r.transport, r.nexthop, {}});
        jobs.back().offsets.push_back(r.offset);
    }
    for (auto& [key, jobs] : grouped)
        for (auto& job : jobs) out.push_back(std::move(job));
    return out;
}

Schedule::Schedule(ScheduleLimits limits, Clock now) : limits_(std::move(limits)), now_(std::move(now)) {}

void Schedule::add(Job job) {
    std::string destination = job.destination();
    waiting_[destination].push_back(std::move(job));
}

std::optional<Schedule::Next> Schedule::next() {
    if (waiting_.empty()) return std::nullopt;
    double now = now_();
    // Round robin: begin after the destination served last.
    auto it = waiting_.upper_bound(last_);
    for (size_t visited = 0; visited < waiting_.size(); ++visited, ++it) {
        if (it == waiting_.end()) it = waiting_.begin();
        auto& [destination, jobs] = *it;
        auto dead = dead_.find(destination);
        if (dead != dead_.end() && dead->second.until <= now) dead_.erase(dead), dead = dead_.end();
        // Held: a transport the administrator stopped (defer_transports),
        // or a site that failed just now; the message retries later.
        std::string held;
        if (limits_.deferred_transport(jobs.front().transport))
            held = "deferred transport";
        else if (dead != dead_.end())
            held = "delivery temporarily suspended: " + dead->second.reason;
        else if (in_flight(destination) >= limits_.concurrency_limit(jobs.front().transport))
            continue;
        else
            busy_[destination]++;
        last_ = destination;
        Next next{std::move(jobs.front()), held.empty(), std::move(held)};
        jobs.pop_front();
        if (jobs.empty()) waiting_.erase(it);
        return next;
    }
    return std::nullopt;
}

void Schedule::finished(const Job& job) {
    auto it = busy_.find(job.destination());
    if (it == busy_.end()) return;
    if (--it->second <= 0) busy_.erase(it);
}

void Schedule::site_dead(const std::string& destination, const std::string& reason) {
    dead_[destination] = {now_() + limits_.minimal_backoff, reason};
}

void Schedule::site_alive(const std::string& destination) { dead_.erase(destination); }

void Schedule::revive_site(const std::string& domain) {
    for (auto it = dead_.begin(); it != dead_.end();) {
        bool match = it->first.ends_with(":" + domain) || it->first.ends_with(":[" + domain + "]");
        it = match ? dead_.erase(it) : std::next(it);
    }
}

long Schedule::next_attempt(double arrival) const {
    double now = now_();
    // Postfix's rule (qmgr_active.c): the minimum wins over the maximum.
    double delay = std::max(std::min(now - arrival, limits_.maximal_backoff), limits_.minimal_backoff);
    return static_cast<long>(now) + static_cast<long>(delay);
}

int Schedule::in_flight() const {
    int n = 0;
    for (const auto& [destination, count] : busy_) n += count;
    return n;
}

int Schedule::in_flight(const std::string& destination) const {
    auto it = busy_.find(destination);
    return it == busy_.end() ? 0 : it->second;
}

size_t Schedule::waiting() const {
    size_t n = 0;
    for (const auto& [destination, jobs] : waiting_) n += jobs.size();
    return n;
}

const DeadSite* Schedule::dead(const std::string& destination) const {
    auto it = dead_.find(destination);
    return it == dead_.end() ? nullptr : &it->second;
}

}  // namespace kurir::qmgr
