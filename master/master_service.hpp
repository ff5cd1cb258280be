// master's services: the listening sockets of master.cf, the processes that
// serve each one, their status pipes, wake-up timers and throttles.
#pragma once

#include "mail/config.hpp"
#include "mail/master_cf.hpp"
#include "mail/inet_interfaces.hpp"
#include "mail/queue.hpp"
#include "util/fs.hpp"

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct event;
struct event_base;

namespace kurir::master {

struct Service;

struct Process {
    pid_t pid = 0;
    Service* service = nullptr;
    bool available = true;
    bool retired = false;  // told to finish by a reload
    long use_count = 0;
    double started = 0;
};

class Master;

struct Service {
    Master* owner = nullptr;
    mail::ServiceEntry entry;
    std::string path;  // daemon executable
    int maxproc = 1;
    // One listener, or for an inet service without a host of its own one
    // per address of inet_interfaces; a child inherits them all.
    std::vector<util::Fd> listen;
    util::Fd status_read, status_write;
    // smtpd with TLS: the last good credentials, handed to each new process.
    util::Fd tls_credentials;
    std::string status_pending;  // bytes read from the status pipe, not yet a whole frame
    std::map<pid_t, Process*> procs;
    // Processes of the same service before a reload, still finishing their
    // work: they count toward maxproc, so a reload never runs two qmgrs.
    int retiring = 0;
    int available = 0;
    bool throttled = false;
    bool listening = false;
    std::vector<event*> listen_evs;
    event* status_ev = nullptr;
    event* wakeup_ev = nullptr;
    event* throttle_ev = nullptr;
};

class Master {
public:
    Master(event_base* base, std::string config_dir);
    ~Master();
    // Reads the configuration and opens every listener; false on error.
    util::Result<void> configure();
    void start_all();
    void reload();
    void stop_all(int signal);
    void reap_children();
    bool has_children() const { return !procs_.empty(); }
    const mail::Config& config() const { return *config_; }
    // Every child's standard output and error (master_log.hpp).
    void set_log_fd(int fd) { log_fd_ = fd; }

    // Event callbacks.
    void arm(Service& s);
    void spawn(Service& s);
    void on_status(Service& s);
    void send_wakeup(Service& s);
    void end_throttle(Service& s);

private:
    util::Result<std::unique_ptr<Service>> make_service(const mail::ServiceEntry& e, Service* reuse);
    util::Result<void> load_tls(Service& s, const Service* prev);
    void throttle(Service& s);
    void retire(Service& s);
    void free_events(Service& s);

    event_base* base_;
    std::string config_dir_;
    // TLS session ticket keys for every smtpd, made once per master run
    // (so sessions resume across processes and reloads).
    std::string ticket_keys_;
    std::optional<mail::Config> config_;
    std::optional<mail::QueueDir> queue_;
    std::vector<std::unique_ptr<Service>> services_;
    std::vector<std::unique_ptr<Service>> retired_services_;
    std::map<pid_t, std::unique_ptr<Process>> procs_;
    bool stopping_ = false;
    int log_fd_ = -1;
    std::optional<uid_t> owner_uid_;
    std::optional<gid_t> owner_gid_;
    // The addresses inet services without a host listen on, fixed at start
    // (as Postfix: a change needs a stop and start), and the settings they
    // came from, so that a reload can say a change is ignored.
    std::optional<std::vector<std::string>> inet_hosts_;
    std::string inet_settings_;
};

}  // namespace kurir::master
