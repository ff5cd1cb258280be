#include "qmgr/qmgr_schedule.hpp"

#include "mail/config.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace kurir::qmgr;

namespace {

// The schedule's clock: seconds since the epoch, moved by the test.
struct FakeClock {
    double now = 1'700'000'000;
    Schedule::Clock fn() {
        return [this] { return now; };
    }
};

Job job(const std::string& transport, const std::string& nexthop, const std::string& id = "M1") {
    return Job{id, transport, nexthop, {1}};
}

// Takes what the schedule hands out until it has nothing more.
std::vector<Schedule::Next> drain(Schedule& s) {
    std::vector<Schedule::Next> out;
    while (auto n = s.next()) out.push_back(std::move(*n));
    return out;
}

std::vector<std::string> started_nexthops(const std::vector<Schedule::Next>& started) {
    std::vector<std::string> out;
    for (const auto& n : started) out.push_back(n.start ? n.job.nexthop : "deferred:" + n.job.nexthop);
    return out;
}

}  // namespace

TEST_CASE("schedule: no more requests in flight to one destination than its limit", "[qmgr_schedule]") {
    FakeClock clock;
    ScheduleLimits limits;
    limits.default_concurrency = 2;
    limits.concurrency["smtp"] = 3;
    Schedule s(limits, clock.fn());
    for (int i = 0; i < 5; ++i) s.add(job("smtp", "a.example"));
    for (int i = 0; i < 5; ++i) s.add(job("smtp", "b.example"));
    // Local is one destination, whatever the nexthop: counted per transport.
    for (int i = 0; i < 5; ++i) s.add(job("local", "host" + std::to_string(i)));

    auto started = drain(s);
    CHECK(started.size() == 3 + 3 + 2);
    CHECK(s.in_flight("smtp:a.example") == 3);
    CHECK(s.in_flight("smtp:b.example") == 3);
    CHECK(s.in_flight("local") == 2);
    CHECK(s.in_flight() == 8);
    CHECK(s.waiting() == 7);
    for (const auto& n : started) CHECK(n.start);
}

TEST_CASE("schedule: round robin across destinations, not one destination's jobs first", "[qmgr_schedule]") {
    FakeClock clock;
    Schedule s(ScheduleLimits{}, clock.fn());
    for (const char* d : {"a", "b", "c"})
        for (int i = 0; i < 3; ++i) s.add(job("smtp", d));
    CHECK(started_nexthops(drain(s)) == std::vector<std::string>{"a", "b", "c", "a", "b", "c", "a", "b", "c"});
}

TEST_CASE("schedule: round robin goes on from the destination served last", "[qmgr_schedule]") {
    FakeClock clock;
    ScheduleLimits limits;
    limits.default_concurrency = 1;
    Schedule s(limits, clock.fn());
    for (const char* d : {"a", "b", "c"})
        for (int i = 0; i < 2; ++i) s.add(job("smtp", d));
    auto first = drain(s);  // one each: the limit
    REQUIRE(started_nexthops(first) == std::vector<std::string>{"a", "b", "c"});
    // a and c finish; the next start goes to a, the one after c, and then c.
    s.finished(first[0].job);
    s.finished(first[2].job);
    CHECK(started_nexthops(drain(s)) == std::vector<std::string>{"a", "c"});
}

TEST_CASE("schedule: a finished job frees its slot for the next waiting one", "[qmgr_schedule]") {
    FakeClock clock;
    ScheduleLimits limits;
    limits.default_concurrency = 2;
    Schedule s(limits, clock.fn());
    for (const char* id : {"M1", "M2", "M3"}) s.add(job("smtp", "a.example", id));
    auto one = s.next();
    auto two = s.next();
    REQUIRE(one);
    REQUIRE(two);
    CHECK(one->job.message_id == "M1");
    CHECK(two->job.message_id == "M2");
    CHECK_FALSE(s.next());  // full
    s.finished(one->job);
    CHECK(s.in_flight("smtp:a.example") == 1);
    auto three = s.next();
    REQUIRE(three);
    CHECK(three->start);
    CHECK(three->job.message_id == "M3");
    CHECK(s.in_flight("smtp:a.example") == 2);
    CHECK(s.waiting() == 0);
}

TEST_CASE("schedule: backoff waits as long as the message is old, from the minimum, up to the maximum",
          "[qmgr_schedule]") {
    FakeClock clock;
    ScheduleLimits limits;  // Postfix's defaults: 300s and 4000s
    REQUIRE(limits.minimal_backoff == 300);
    REQUIRE(limits.maximal_backoff == 4000);
    Schedule s(limits, clock.fn());
    double arrival = clock.now;
    // Each attempt runs when the previous one said: the waits double.
    std::vector<double> waits;
    for (int attempt = 0; attempt < 7; ++attempt) {
        long next = s.next_attempt(arrival);
        waits.push_back(static_cast<double>(next) - clock.now);
        clock.now = static_cast<double>(next);
    }
    CHECK(waits == std::vector<double>{300, 300, 600, 1200, 2400, 4000, 4000});
}

TEST_CASE("schedule: the next attempt is counted from the clock's now", "[qmgr_schedule]") {
    FakeClock clock;
    Schedule s(ScheduleLimits{}, clock.fn());
    double arrival = clock.now - 1000;
    CHECK(s.next_attempt(arrival) == static_cast<long>(clock.now) + 1000);
    clock.now += 50;
    CHECK(s.next_attempt(arrival) == static_cast<long>(clock.now) + 1050);
    // A clock behind the arrival (set back) waits the minimum.
    CHECK(s.next_attempt(clock.now + 100) == static_cast<long>(clock.now) + 300);
}

TEST_CASE("schedule: a dead site's jobs are deferred until its hold has passed; others go on",
          "[qmgr_schedule]") {
    FakeClock clock;
    ScheduleLimits limits;
    limits.minimal_backoff = 300;
    Schedule s(limits, clock.fn());
    s.site_dead("smtp:dead.example", "connect to dead.example: Connection refused");
    REQUIRE(s.dead("smtp:dead.example"));
    CHECK(s.dead("smtp:dead.example")->until == clock.now + 300);

    s.add(job("smtp", "dead.example", "M1"));
    s.add(job("smtp", "live.example", "M2"));
    auto out = drain(s);
    REQUIRE(out.size() == 2);
    CHECK(started_nexthops(out) == std::vector<std::string>{"deferred:dead.example", "live.example"});
    CHECK(out[0].reason == "delivery temporarily suspended: connect to dead.example: Connection refused");
    CHECK(s.in_flight("smtp:dead.example") == 0);

    clock.now += 299;
    s.add(job("smtp", "dead.example", "M3"));
    auto still = drain(s);
    REQUIRE(still.size() == 1);
    CHECK_FALSE(still[0].start);

    clock.now += 1;  // the hold is over
    s.add(job("smtp", "dead.example", "M4"));
    auto retried = drain(s);
    REQUIRE(retried.size() == 1);
    CHECK(retried[0].start);
    CHECK(retried[0].job.message_id == "M4");
    CHECK_FALSE(s.dead("smtp:dead.example"));
}

TEST_CASE("schedule: an answer revives a dead site; a flush revives all or one domain's", "[qmgr_schedule]") {
    FakeClock clock;
    Schedule s(ScheduleLimits{}, clock.fn());
    s.site_dead("smtp:a.example", "refused");
    s.site_alive("smtp:a.example");
    CHECK_FALSE(s.dead("smtp:a.example"));

    s.site_dead("smtp:a.example", "refused");
    s.site_dead("relay:[a.example]", "refused");
    s.site_dead("smtp:b.example", "refused");
    s.site_dead("smtp:aa.example", "refused");
    s.revive_site("a.example");
    CHECK_FALSE(s.dead("smtp:a.example"));
    CHECK_FALSE(s.dead("relay:[a.example]"));
    CHECK(s.dead("smtp:b.example"));
    CHECK(s.dead("smtp:aa.example"));
    s.revive_all();
    CHECK_FALSE(s.dead("smtp:b.example"));
    CHECK_FALSE(s.dead("smtp:aa.example"));
}

TEST_CASE("schedule: jobs of a transport in defer_transports are deferred, not started", "[qmgr_schedule]") {
    FakeClock clock;
    ScheduleLimits limits;
    limits.defer_transports = {"smtp"};
    Schedule s(limits, clock.fn());
    s.add(job("smtp", "a.example"));
    s.add(job("local", "host"));
    auto out = drain(s);
    REQUIRE(out.size() == 2);
    CHECK(out[0].job.transport == "local");
    CHECK(out[0].start);
    CHECK_FALSE(out[1].start);
    CHECK(out[1].reason == "deferred transport");
    CHECK(s.in_flight() == 1);
}

TEST_CASE("schedule: jobs: one per local recipient, the others split at the recipient limit", "[qmgr_schedule]") {
    ScheduleLimits limits;
    limits.default_recipients = 2;
    limits.recipients["smtp"] = 3;
    std::vector<Route> routes;
    for (size_t off = 10; off < 17; ++off) routes.push_back({off, "smtp", "a.example"});
    routes.push_back({20, "smtp", "b.example"});
    routes.push_back({30, "local", "host"});
    routes.push_back({31, "local", "host"});
    for (size_t off = 40; off < 43; ++off) routes.push_back({off, "relay", "c.example"});

    auto jobs = make_jobs("M1", routes, limits);
    std::vector<std::pair<std::string, std::vector<size_t>>> got;
    for (const auto& j : jobs) {
        CHECK(j.message_id == "M1");
        got.push_back({j.destination(), j.offsets});
    }
    std::vector<std::pair<std::string, std::vector<size_t>>> want = {
        {"local", {30}},
        {"local", {31}},
        {"relay:c.example", {40, 41}},
        {"relay:c.example", {42}},
        {"smtp:a.example", {10, 11, 12}},
        {"smtp:a.example", {13, 14, 15}},
        {"smtp:a.example", {16}},
        {"smtp:b.example", {20}},
    };
    CHECK(got == want);
}

TEST_CASE("schedule: limits from main.cf, local's concurrency the default's", "[qmgr_schedule]") {
    auto cfg = kurir::mail::Config::from_text(
        "default_destination_concurrency_limit = 7\n"
        "smtp_destination_concurrency_limit = 3\n"
        "local_destination_concurrency_limit = 1\n"
        "smtp_destination_recipient_limit = 5\n"
        "dovecot_destination_recipient_limit = 1\n"
        "relay_destination_concurrency_limit = 2\n"
        "defer_transports = smtp, relay\n"
        "minimal_backoff_time = 1m\n"
        "maximal_backoff_time = 2h\n",
        "/tmp/x");
    REQUIRE(cfg);
    auto l = schedule_limits(*cfg);
    CHECK(l.concurrency_limit("smtp") == 3);
    CHECK(l.concurrency_limit("local") == 7);
    CHECK(l.concurrency_limit("undeclared") == 7);
    CHECK(l.recipient_limit("smtp") == 5);
    CHECK(l.recipient_limit("undeclared") == 50);
    // Any master.cf service's own limits, as Postfix takes them.
    CHECK(l.recipient_limit("dovecot") == 1);
    CHECK(l.concurrency_limit("relay") == 2);
    CHECK(l.deferred_transport("relay"));
    CHECK_FALSE(l.deferred_transport("local"));
    CHECK(l.minimal_backoff == 60);
    CHECK(l.maximal_backoff == 7200);
}
