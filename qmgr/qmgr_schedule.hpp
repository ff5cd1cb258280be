// qmgr's schedule, with no sockets, files or event loop: the delivery jobs
// waiting per destination, the requests in flight, the destinations held as
// dead, and the time of a deferred message's next attempt. The clock is
// passed in, so that tests drive it.
//
// The rules:
// - A destination is a transport plus nexthop ("smtp:example.com"); all of
//   local is one destination ("local"). At most the transport's
//   <transport>_destination_concurrency_limit requests (a declared
//   parameter; default_destination_concurrency_limit otherwise, and always
//   for local) are in flight to one destination.
// - Jobs: one per local recipient (each has its own mailbox); for the other
//   transports one per <transport>_destination_recipient_limit recipients of
//   a message to one nexthop (default_destination_recipient_limit).
// - Round robin: each start goes to the next destination (in name order,
//   wrapping) after the last one served that has a job and room, so waiting
//   jobs for A, B and C start A B C A B C. Within a destination, first come
//   first served.
// - Held jobs are not started but deferred at once: a transport named in
//   defer_transports, or a destination marked dead (no server of it could
//   be reached) until its hold (minimal_backoff_time) has passed. A
//   delivery a server answered revives its destination; a flush revives all.
// - Backoff (Postfix's rule): a deferred message's next attempt waits as
//   long as the message is old, at least minimal_backoff_time and at most
//   maximal_backoff_time; tried when due, the waits double as it ages.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kurir::mail {
class Config;
}

namespace kurir::qmgr {

struct Job {
    std::string message_id;
    std::string transport;
    std::string nexthop;
    std::vector<size_t> offsets;  // recipients, by record offset
    // Concurrency is counted per destination: per nexthop for remote
    // transports, per transport for local.
    std::string destination() const { return transport == "local" ? transport : transport + ":" + nexthop; }
};

// Where one recipient goes, as trivial-rewrite resolved it.
struct Route {
    size_t offset = 0;
    std::string transport;
    std::string nexthop;
};

// The main.cf parameters the schedule works within (schedule_limits()).
struct ScheduleLimits {
    int default_concurrency = 20;                // default_destination_concurrency_limit
    std::map<std::string, int> concurrency;      // <transport>_destination_concurrency_limit
    size_t default_recipients = 50;              // default_destination_recipient_limit
    std::map<std::string, size_t> recipients;    // <transport>_destination_recipient_limit
    std::vector<std::string> defer_transports;
    double minimal_backoff = 300;                // minimal_backoff_time
    double maximal_backoff = 4000;               // maximal_backoff_time

    int concurrency_limit(const std::string& transport) const;
    size_t recipient_limit(const std::string& transport) const;
    bool deferred_transport(const std::string& transport) const;
};

// The limits as cfg sets them: the per-transport limits that the parameter
// table declares (local's concurrency excepted: all of local is one
// destination, so it has the default's).
ScheduleLimits schedule_limits(const mail::Config& cfg);

// One message's jobs for these recipients, in the order they start within
// each destination.
std::vector<Job> make_jobs(const std::string& message_id, const std::vector<Route>& routes,
                           const ScheduleLimits& limits);

// A destination no server of which could be reached: its mail waits
// until `until` instead of each message trying again at once.
struct DeadSite {
    double until = 0;
    std::string reason;
};

class Schedule {
public:
    using Clock = std::function<double()>;  // seconds since the epoch

    Schedule(ScheduleLimits limits, Clock now);
    void set_limits(ScheduleLimits limits) { limits_ = std::move(limits); }
    const ScheduleLimits& limits() const { return limits_; }

    // The job waits at the back of its destination's queue.
    void add(Job job);

    struct Next {
        Job job;
        bool start = true;   // false: do not start it; defer it with `reason`
        std::string reason;
    };
    // The next job to start (counted in flight from here on, until
    // finished()) or to defer; nothing when every job left waits for room.
    std::optional<Next> next();
    // A started job's request is over: its slot is free.
    void finished(const Job& job);

    // What a delivery said of its destination.
    void site_dead(const std::string& destination, const std::string& reason);
    void site_alive(const std::string& destination);
    // An administrator's flush: every destination, or those of one domain
    // (lower case; any transport, the domain itself or [domain]).
    void revive_all() { dead_.clear(); }
    void revive_site(const std::string& domain);

    // When a message that arrived at `arrival` and is deferred now is next
    // tried (seconds since the epoch).
    long next_attempt(double arrival) const;

    int in_flight() const;
    int in_flight(const std::string& destination) const;
    size_t waiting() const;
    const DeadSite* dead(const std::string& destination) const;

private:
    ScheduleLimits limits_;
    Clock now_;
    std::map<std::string, std::deque<Job>> waiting_;  // by destination, none empty
    std::map<std::string, int> busy_;                 // requests in flight by destination
    std::map<std::string, DeadSite> dead_;            // by destination
    std::string last_;                                // the destination served last
};

}  // namespace kurir::qmgr
