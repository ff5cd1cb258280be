// qmgr's state: the messages in active/, the delivery jobs waiting per
// transport, and the requests in flight. One process, one event loop.
#pragma once

#include "mail/clients.hpp"
#include "mail/queue_file.hpp"
#include "server/server.hpp"

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct event;

namespace kurir::qmgr {

struct Message {
    std::string id;
    mail::QueueEnvelope env;
    double active_time = 0;
    int jobs_in_flight = 0;
    int jobs_waiting = 0;
    std::vector<std::pair<size_t, std::string>> newly_done;     // offset, for the log
    std::vector<std::pair<size_t, std::string>> defer_reasons;  // offset, reason
    std::vector<std::pair<size_t, std::string>> bounces;        // offset, reason
};

struct Job {
    std::string message_id;
    std::string transport;
    std::string nexthop;
    std::vector<size_t> offsets;  // recipients, by record offset
};

class Manager {
public:
    explicit Manager(server::ServerContext& ctx);
    void start();                         // recover active/, then scan
    // Wake-ups: W (scan), F (flush deferred), L (list the queue on reply_fd),
    // I<id> (deliver one now), S<site> (flush mail for a domain).
    void on_trigger(std::string_view request, int reply_fd);
    void scan_incoming();
    void scan_deferred(bool all);
    void deliver_now(const std::string& id);
    void flush_site(const std::string& site);

private:
    friend struct Delivery;
    void load(const std::string& id);
    void dispatch();
    void start_job(Job job);
    void job_done(const Job& job, const std::vector<std::string>& results);  // "offset dsn text"
    void defer_job(const Job& job, const std::string& reason);
    void maybe_finish(Message& m);
    void finish(Message& m);
    int transport_limit(const std::string& transport) const;

    server::ServerContext& ctx_;
    mail::RewriteClient rewrite_;
    std::map<std::string, Message> active_;
    std::map<std::string, std::deque<Job>> waiting_;  // by transport
    std::map<std::string, int> busy_;                 // requests in flight by transport
    event* timer_ = nullptr;
};

}  // namespace kurir::qmgr
