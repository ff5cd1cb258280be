// qmgr's state: the messages in active/, the delivery jobs waiting per
// transport, and the requests in flight. One process, one event loop.
#pragma once

#include "mail/bounce_message.hpp"
#include "mail/clients.hpp"
#include "mail/mail_proto.hpp"
#include "mail/queue_file.hpp"
#include "server/kept_conns.hpp"
#include "qmgr/qmgr_remover.hpp"
#include "qmgr/qmgr_schedule.hpp"
#include "server/server.hpp"

#include <array>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct event;

namespace kurir::qmgr {

// What a delivery agent says of one recipient (mail/mail_proto.hpp).
using Outcome = mail::proto::RecipientResult;
inline Outcome temporary_outcome(size_t offset, std::string text) { return {offset, "4.3.0", std::move(text), {}, {}, {}}; }

// The queue file's named attributes that qmgr reads (every m.env.attr()
// in qmgr names one of these); load() keeps no others: qmgr holds each
// message in active/, up to qmgr_message_active_limit of them.
inline constexpr std::array<std::string_view, 5> kAttributesRead{"content_filter", "delay_warned", "dsn_envid",
                                                                 "dsn_ret", "smtputf8"};

struct Message {
    std::string id;
    mail::QueueEnvelope env;  // attrs: only kAttributesRead
    double active_time = 0;
    bool force_expire = false;  // kurir-super -e/-f: bounce what is left, deliver nothing
    int jobs_in_flight = 0;
    int jobs_waiting = 0;
    std::vector<std::pair<size_t, std::string>> newly_done;     // offset, for the log
    std::vector<Outcome> deferred;
    std::vector<Outcome> bounced;    // 5xx: done once the notice is queued
    std::vector<Outcome> delivered;  // 2xx with DSN NOTIFY=SUCCESS: a success notice
};

// Finished queue files whose removal may wait (enough to keep the remover
// busy while the loop goes on), and the threads that remove them.
inline constexpr size_t kRemovalsPending = 16;
inline constexpr size_t kRemoverThreads = 4;

class Manager {
public:
    explicit Manager(server::ServerContext& ctx);
    ~Manager();  // before the event base is freed
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;
    void start();                         // recover active/, then scan
    // Wake-ups: W (scan), F (flush deferred), L (list the queue: the answer),
    // I<id> (deliver one now), S<site> (flush mail for a domain).
    std::string on_trigger(std::string_view request);
    void scan_incoming();
    // Wake-ups that arrive together (one per message cleanup wrote) share
    // one scan, run once the loop has taken all that were waiting.
    void schedule_incoming_scan();
    void scan_deferred(bool all);
    void deliver_now(const std::string& id);
    void flush_site(const std::string& site);
    int deliveries_in_flight() const;

private:
    friend struct Delivery;
    void load(const std::string& id);
    void dispatch();
    void dispatch_pass();
    void start_job(Job job);
    void job_done(const Job& job, const std::vector<Outcome>& results, bool site_dead);
    void defer_job(const Job& job, const std::string& reason);
    void mark_done(Message& m, const std::vector<size_t>& offsets);
    void maybe_finish(Message& m);
    void finish(Message& m);
    void expire(Message& m);
    bool delay_warning_due(const Message& m) const;
    // Queues one notice about these recipients of m; false when it could not.
    bool send_notice(Message& m, mail::NoticeKind kind, const std::vector<Outcome>& about);

    server::ServerContext& ctx_;
    mail::RewriteClient rewrite_;
    std::map<std::string, Message> active_;
    Schedule schedule_;  // the jobs waiting and in flight, the dead sites
    Remover remover_{kRemovalsPending, kRemoverThreads};
    server::KeptConns agents_;  // connections to delivery agents between requests
    event* timer_ = nullptr;
    void message_left_active();
    size_t active_limit() const;
    bool more_incoming_ = false;      // a scan stopped at the active limit
    bool more_deferred_ = false;
    bool refill_scheduled_ = false;
    bool incoming_scan_scheduled_ = false;
    bool dispatching_ = false;
    bool dispatch_again_ = false;
};

}  // namespace kurir::qmgr
