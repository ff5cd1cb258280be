#include "master/master_service.hpp"

#include "build_paths.hpp"
#include "mail/clients.hpp"
#include "mail/delivery_log.hpp"
#include "server/master_proto.hpp"
#include "server/tls_credentials.hpp"
#include "server/tls_params.hpp"
#include "server/tls_server.hpp"
#include "mail/privileged_accounts.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"
#include "util/socket.hpp"

#include <event2/event.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

namespace kurir::master {

Master::Master(event_base* base, std::string config_dir) : base_(base), config_dir_(std::move(config_dir)) {}

Master::~Master() {
    for (auto& s : services_) free_events(*s);
    for (auto& s : retired_services_) free_events(*s);
}

void Master::free_events(Service& s) {
    for (event** ev : {&s.status_ev, &s.wakeup_ev, &s.throttle_ev})
        if (*ev) {
            event_free(*ev);
            *ev = nullptr;
        }
    for (event* ev : s.listen_evs) event_free(ev);
    s.listen_evs.clear();
    s.listening = false;
}

util::Result<std::unique_ptr<Service>> Master::make_service(const mail::ServiceEntry& e, Service* reuse) {
    auto s = std::make_unique<Service>();
    s->entry = e;
    s->path = config_->str("daemon_directory") + "/" + e.command;
    if (::access(s->path.c_str(), X_OK) < 0) return util::fail_errno("service " + e.name + ": " + s->path);
    s->maxproc = mail::effective_maxproc(e, config_->integer("default_process_limit"));
    if (e.maxproc == 0 && !reuse)
        util::msg_info("service {}: maxproc 0 runs at most {} processes ({} x default_process_limit)", e.name,
                       s->maxproc, mail::kMaxprocZeroFactor);
    if (reuse) {
        // A copy: the old service keeps its own until the new table is complete.
        for (const auto& fd : reuse->listen) {
            s->listen.emplace_back(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
            if (!s->listen.back()) return util::fail_errno("dup listener of " + e.name);
        }
    } else if (e.type == mail::ServiceType::inet) {
        // Every address is bound before master says it is up ("kurir start"
        // returns then): a client may connect to any of them at once.
        for (const auto& addr : mail::inet_listen_addresses(e.name, *inet_hosts_)) {
            auto fd = util::listen_inet(addr);
            if (!fd) return std::unexpected(fd.error());
            s->listen.push_back(std::move(*fd));
        }
    } else {
        std::string path = e.private_ ? queue_->private_socket(e.name) : queue_->public_socket(e.name);
        // Made as mail_owner, as Postfix's master does (set_eugid around
        // the listen): the socket is mail_owner's from birth, and root never
        // chmods or chowns a name in a directory mail_owner writes.
        std::optional<util::ActAs> as_owner;
        if (owner_uid_) {
            auto a = util::ActAs::begin(*owner_uid_, *owner_gid_);
            if (!a) return std::unexpected(a.error());
            as_owner.emplace(std::move(*a));
        }
        auto fd = util::listen_unix(path, e.private_ ? 0600 : 0666);
        as_owner.reset();
        if (!fd) return std::unexpected(fd.error());
        s->listen.push_back(std::move(*fd));
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return util::fail_errno("pipe");
    s->status_read.reset(p[0]);
    s->status_write.reset(p[1]);
    return s;
}

util::Result<void> Master::configure() {
    auto cfg = mail::Config::load(config_dir_);
    if (!cfg) return std::unexpected(cfg.error());
    auto text = util::read_file(config_dir_ + "/master.cf");
    if (!text) return std::unexpected(text.error());
    auto entries = mail::parse_master_cf(*text, config_dir_ + "/master.cf");
    if (!entries) return std::unexpected(entries.error());
    // What kurir does not implement is said at every start and reload; a
    // setting that asks for security kurir lacks stops both.
    auto options = mail::check_service_options(*cfg, *entries, config_dir_ + "/master.cf");
    if (!options) return std::unexpected(options.error());
    if (!cfg->refusals().empty()) return util::fail(cfg->refusals().front());
    for (const auto& w : cfg->warnings()) util::msg_warn("{}", w);
    for (const auto& w : *options) util::msg_warn("{}", w);
    // inet_interfaces and inet_protocols are read once, as Postfix's
    // master: a reload keeps every listener and says a change is ignored.
    std::string inet_settings = cfg->str("inet_interfaces") + "\n" + cfg->str("inet_protocols");
    if (!inet_hosts_) {
        auto hosts = mail::configured_listen_hosts(*cfg);
        if (!hosts) return std::unexpected(hosts.error());
        inet_hosts_ = std::move(*hosts);
        inet_settings_ = inet_settings;
    } else if (inet_settings != inet_settings_) {
        util::msg_warn("ignoring inet_interfaces or inet_protocols change");
        util::msg_warn("to change inet_interfaces or inet_protocols, stop and start kurir");
    }
    // As root: mail_owner, default_privs and setgid_group exist, none is
    // root, and no two share an ID.
    std::optional<mail::PrivilegedAccounts> accounts;
    if (util::running_as_root()) {
        auto found = mail::find_privileged_accounts(*cfg);
        if (!found) return std::unexpected(found.error());
        accounts = std::move(*found);
    }
    config_ = std::move(*cfg);
    queue_.emplace(config_->str("queue_directory"));
    if (accounts) {
        const auto& owner = accounts->mail_owner;
        owner_uid_ = owner.uid;
        owner_gid_ = owner.gid;
        if (auto r = queue_->create_layout(mail::QueueDir::Owner{owner.uid, owner.gid, accounts->setgid_gid}); !r)
            return r;
    } else {
        if (auto r = queue_->create_layout(std::nullopt); !r) return r;
    }
    // Keep the listeners of services that stay (no connection is refused
    // during a reload); retire the processes of every old service.
    std::vector<std::unique_ptr<Service>> next;
    for (const auto& e : *entries) {
        Service* old = nullptr;
        for (auto& s : services_)
            if (s && s->entry.name == e.name && s->entry.type == e.type && !s->listen.empty()) old = s.get();
        auto s = make_service(e, old);
        if (!s) return std::unexpected(s.error());
        const Service* prev = nullptr;
        for (auto& p : services_)
            if (p && p->entry.name == e.name && p->entry.type == e.type) prev = p.get();
        if (auto r = load_tls(**s, prev); !r) return r;
        for (auto& prev : services_)
            if (prev && prev->entry.name == e.name && prev->entry.type == e.type)
                (*s)->retiring = static_cast<int>(prev->procs.size()) + prev->retiring;
        next.push_back(std::move(*s));
    }
    for (auto& s : services_) {
        retire(*s);
        retired_services_.push_back(std::move(s));
    }
    services_ = std::move(next);
    return {};
}

// An smtpd service with TLS gets its key and certificates read here, by
// master (root, so the key file may be root's and mode 0600), checked with
// the service's own settings, and kept as a sealed memfd that every new
// process of the service inherits. On reload, credentials that do not load
// are logged and the service keeps the last good ones: new sessions go on
// with the old certificate rather than fail. At start, or for a service new
// in this reload, they are an error.
util::Result<void> Master::load_tls(Service& s, const Service* prev) {
    if (s.entry.command != "smtpd") return {};
    std::vector<std::string> overrides;
    for (size_t i = 0; i + 1 < s.entry.args.size(); ++i)
        if (s.entry.args[i] == "-o") overrides.push_back(s.entry.args[++i]);
    auto cfg = mail::Config::load(config_dir_, overrides);
    if (!cfg) return std::unexpected(cfg.error());
    auto settings = server::load_tls_settings(*cfg);
    if (!settings) return util::fail("service " + s.entry.name + ": " + settings.error().text);
    if (!settings->enabled()) return {};
    if (ticket_keys_.empty()) {
        auto keys = server::new_ticket_keys();
        if (!keys) return std::unexpected(keys.error());
        ticket_keys_ = std::move(*keys);
    }
    auto fresh = [&]() -> util::Result<util::Fd> {
        auto pem = server::read_tls_credentials(*settings);
        if (!pem) return std::unexpected(pem.error());
        std::string origin = settings->chain_files.empty() ? settings->cert_file : settings->chain_files.front();
        auto ctx = server::TlsServer::create(*settings, *pem, origin);
        if (!ctx) return std::unexpected(ctx.error());
        return server::seal_credentials(server::with_ticket_keys(*pem, ticket_keys_));
    }();
    if (fresh) {
        s.tls_credentials = std::move(*fresh);
        return {};
    }
    if (prev == nullptr || !prev->tls_credentials)
        return util::fail("service " + s.entry.name + ": TLS: " + fresh.error().text);
    util::msg_warn("service {}: TLS: {}; new sessions keep the old certificate", s.entry.name, fresh.error().text);
    s.tls_credentials.reset(::fcntl(prev->tls_credentials.get(), F_DUPFD_CLOEXEC, 0));
    if (!s.tls_credentials) return util::fail_errno("dup TLS credentials of " + s.entry.name);
    return {};
}

void Master::retire(Service& s) {
    free_events(s);
    for (auto& [pid, p] : s.procs) {
        p->retired = true;
        p->available = false;
        ::kill(pid, SIGHUP);  // finish what you are doing, then exit
    }
    s.available = 0;
    s.listen.clear();
}

void Master::start_all() {
    for (auto& sp : services_) {
        Service& s = *sp;
        s.owner = this;
        s.status_ev = event_new(
            base_, s.status_read.get(), EV_READ | EV_PERSIST,
            [](evutil_socket_t, short, void* arg) {
                auto* svc = static_cast<Service*>(arg);
                svc->owner->on_status(*svc);
            },
            &s);
        event_add(s.status_ev, nullptr);
        for (const auto& fd : s.listen)
            s.listen_evs.push_back(event_new(
                base_, fd.get(), EV_READ | EV_PERSIST,
                [](evutil_socket_t, short, void* arg) {
                    // A child may have said "available" in the same instant:
                    // read that first, or every such race leaves one more idle
                    // process behind (until max_idle).
                    auto* svc = static_cast<Service*>(arg);
                    svc->owner->on_status(*svc);
                    if (svc->available == 0) svc->owner->spawn(*svc);
                },
                &s));
        if (s.entry.wakeup > 0) {
            s.wakeup_ev = event_new(
                base_, -1, EV_PERSIST,
                [](evutil_socket_t, short, void* arg) {
                    auto* svc = static_cast<Service*>(arg);
                    svc->owner->send_wakeup(*svc);
                },
                &s);
            struct timeval tv {s.entry.wakeup, 0};
            event_add(s.wakeup_ev, &tv);
            send_wakeup(s);  // long-running services start at once
        }
        arm(s);
    }
}

// Watch the listener only while no process is available to accept.
void Master::arm(Service& s) {
    bool want = !stopping_ && !s.throttled && s.available == 0 &&
                static_cast<int>(s.procs.size()) + s.retiring < s.maxproc && !s.listen_evs.empty();
    if (want != s.listening)
        for (event* ev : s.listen_evs) want ? event_add(ev, nullptr) : event_del(ev);
    s.listening = want;
}

void Master::send_wakeup(Service& s) {
    if (stopping_ || s.entry.type != mail::ServiceType::unix_stream) return;
    std::string path = s.entry.private_ ? queue_->private_socket(s.entry.name) : queue_->public_socket(s.entry.name);
    auto fd = util::connect_unix(path, 1);
    if (!fd) return;
    util::set_nonblocking(fd->get(), true);
    std::string bytes = mail::proto::trigger_bytes({mail::proto::Trigger::Kind::wakeup, ""});
    ssize_t n = ::write(fd->get(), bytes.data(), bytes.size());  // a hint: a failure is not an error
    (void)n;
}

void Master::spawn(Service& s) {
    if (stopping_ || s.throttled || static_cast<int>(s.procs.size()) + s.retiring >= s.maxproc) return arm(s);
    std::vector<std::string> args{s.entry.command, "-c", config_dir_, "-n", s.entry.name, "-t",
                                  s.entry.type == mail::ServiceType::inet ? "inet" : "unix"};
    if (s.entry.unprivileged) args.push_back("-u");
    if (s.entry.chroot) args.push_back("-r");
    if (s.listen.size() > 1) {
        args.push_back("-s");
        args.push_back(std::to_string(s.listen.size()));
    }
    for (const auto& a : s.entry.args) args.push_back(a);
    pid_t master_pid = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        util::msg_warn("fork: {}", std::strerror(errno));
        return throttle(s);
    }
    if (pid == 0) {
        // Until the exec, this child says what goes wrong on master's log
        // pipe (its descriptors 1 and 2 below), as "kurir/master[PID]".
        util::log_child_of_master();
        // A child whose master dies before it is running would otherwise
        // live on with the listening sockets (and keep a new master from
        // binding them): the death signal survives the exec.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != master_pid) ::_exit(75);
        int status_fd = s.status_write.get(), tls_fd = s.tls_credentials.get();
        int more = static_cast<int>(s.listen.size()) - 1;
        // Move the descriptors into place without clobbering each other:
        // copies first, above every target, then each to its number.
        int above = std::max(10, server::kMoreListenFd + more);
        std::vector<int> l;
        for (const auto& fd : s.listen) l.push_back(::fcntl(fd.get(), F_DUPFD, above));
        int st = ::fcntl(status_fd, F_DUPFD, above);
        int t = tls_fd >= 0 ? ::fcntl(tls_fd, F_DUPFD, above) : -1;
        int lg = log_fd_ >= 0 ? ::fcntl(log_fd_, F_DUPFD, above) : -1;
        if (lg >= 0 && (::dup2(lg, 1) < 0 || ::dup2(lg, 2) < 0)) ::_exit(75);
        if (st < 0 || ::dup2(st, server::kStatusFd) < 0) {
            util::log_line("fatal", fmt::format("service {}: descriptors: {}", s.entry.name, std::strerror(errno)));
            ::_exit(75);
        }
        for (size_t i = 0; i < l.size(); ++i) {
            int target = i == 0 ? server::kListenFd : server::kMoreListenFd + static_cast<int>(i) - 1;
            if (l[i] < 0 || ::dup2(l[i], target) < 0) {
                util::log_line("fatal", fmt::format("service {}: descriptors: {}", s.entry.name, std::strerror(errno)));
                ::_exit(75);
            }
        }
        if (tls_fd >= 0 && (t < 0 || ::dup2(t, server::kTlsFd) < 0)) ::_exit(75);
        if (tls_fd < 0 && more > 0) ::close(server::kTlsFd);
        ::closefrom(more > 0 ? server::kMoreListenFd + more : tls_fd >= 0 ? server::kTlsFd + 1 : server::kStatusFd + 1);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGHUP, SIGTERM, SIGCHLD, SIGPIPE, SIGINT}) ::signal(sig, SIG_DFL);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(s.path.c_str(), argv.data());
        util::log_line("fatal", fmt::format("exec {}: {}", s.path, std::strerror(errno)));
        ::_exit(75);
    }
    auto p = std::make_unique<Process>();
    p->pid = pid;
    p->service = &s;
    p->started = mail::now_seconds();
    s.procs[pid] = p.get();
    s.available++;
    procs_[pid] = std::move(p);
    arm(s);
}

void Master::on_status(Service& s) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(s.status_read.get(), buf, sizeof buf)) > 0) s.status_pending.append(buf, static_cast<size_t>(n));
    for (;;) {
        auto frame = util::attr_decode(s.status_pending);
        if (!frame || (!*frame && s.status_pending.size() > 65536)) {
            // Garbage on the pipe: what it held is dropped (children say
            // their status again at their next change).
            util::msg_warn("service {}: child status: {}", s.entry.name,
                           frame ? "no frame in 64 KB" : frame.error().text);
            s.status_pending.clear();
            break;
        }
        if (!*frame) break;
        auto decoded = server::decode_status((*frame)->attrs);
        s.status_pending.erase(0, (*frame)->consumed);
        if (!decoded) {
            util::msg_warn("service {}: {}", s.entry.name, decoded.error().text);
            continue;
        }
        const server::StatusMessage& m = *decoded;
        auto it = s.procs.find(m.pid);
        if (it == s.procs.end()) continue;
        Process& p = *it->second;
        if (p.retired) continue;
        bool avail = m.status == server::ChildStatus::available;
        if (avail && !p.available) s.available++;
        if (!avail && p.available) {
            s.available--;
            p.use_count++;
        }
        p.available = avail;
    }
    arm(s);
}

void Master::throttle(Service& s) {
    if (s.throttled) return;
    s.throttled = true;
    long seconds = config_->seconds("service_throttle_time");
    util::msg_warn("{}: service {}: throttling for {} seconds", s.path, s.entry.name, seconds);
    if (!s.throttle_ev)
        s.throttle_ev = event_new(
            base_, -1, 0,
            [](evutil_socket_t, short, void* arg) {
                auto* svc = static_cast<Service*>(arg);
                svc->owner->end_throttle(*svc);
            },
            &s);
    struct timeval tv {seconds, 0};
    event_add(s.throttle_ev, &tv);
    arm(s);
}

void Master::end_throttle(Service& s) {
    s.throttled = false;
    arm(s);
    if (s.entry.wakeup > 0) send_wakeup(s);
}

void Master::reap_children() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        auto it = procs_.find(pid);
        if (it == procs_.end()) continue;
        std::unique_ptr<Process> p = std::move(it->second);
        procs_.erase(it);
        Service& s = *p->service;
        s.procs.erase(pid);
        if (p->available && !p->retired) s.available--;
        bool normal = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (p->retired) {
            // Its successor service may start one more process now.
            for (auto& next : services_)
                if (next->entry.name == s.entry.name && next->entry.type == s.entry.type && next->retiring > 0) {
                    next->retiring--;
                    arm(*next);
                    if (next->entry.wakeup > 0 && !stopping_) send_wakeup(*next);
                }
            continue;
        }
        if (stopping_) continue;
        if (WIFSIGNALED(status))
            util::msg_warn("process {} pid {} killed by signal {}", s.path, pid, WTERMSIG(status));
        else if (!normal)
            util::msg_warn("process {} pid {} exit status {}", s.path, pid, WEXITSTATUS(status));
        // A process that fails before it could do anything is probably
        // failing in a loop: stop starting new ones for a while.
        if (!normal && mail::now_seconds() - p->started < 1.0 && p->use_count == 0) throttle(s);
        arm(s);
        if (s.entry.wakeup > 0 && !s.throttled) send_wakeup(s);
    }
}

void Master::stop_all(int signal) {
    stopping_ = true;
    for (auto& s : services_) arm(*s);
    for (auto& [pid, p] : procs_) ::kill(pid, signal);
}

void Master::reload() {
    util::msg_info("reload -- version {}, configuration {}", KURIR_VERSION, config_dir_);
    // A process an earlier reload retired may still serve a client: it is
    // told again, to reopen maillog_file with everyone else (configure()
    // below tells the others).
    for (auto& [pid, p] : procs_)
        if (p->retired) ::kill(pid, SIGHUP);
    if (auto r = configure(); !r) {
        util::msg_warn("reload failed, keeping the old configuration: {}", r.error().text);
        return;
    }
    start_all();
}

}  // namespace kurir::master
