#include "server/server.hpp"

#include "mail/log_config.hpp"
#include "server/master_proto.hpp"
#include "server/open_files.hpp"
#include "server/server_start.hpp"
#include "util/attr.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"
#include "util/socket.hpp"
#include "util/table_libraries.hpp"

#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <ctime>
#include <memory>

namespace kurir::server {
namespace {

volatile sig_atomic_t g_stop_requested = 0;
bool g_have_master = false;
// The listening sockets master passed: kListenFd, then kMoreListenFd... (-s N).
std::vector<int> g_listen_fds{kListenFd};

// Master holds the only reading end of the status pipe: once it is gone, the
// writing end polls as an error.
bool master_gone() {
    struct pollfd p {kStatusFd, POLLOUT, 0};
    return ::getppid() == 1 || (::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0);
}

struct sigaction g_libevent_hup {};

void on_loop_sighup(int sig) {
    util::log_reopen();
    if (g_libevent_hup.sa_flags & SA_SIGINFO) {
        if (g_libevent_hup.sa_sigaction) g_libevent_hup.sa_sigaction(sig, nullptr, nullptr);
    } else if (g_libevent_hup.sa_handler != SIG_DFL && g_libevent_hup.sa_handler != SIG_IGN) {
        g_libevent_hup.sa_handler(sig);
    }
}

void on_sighup(int) {
    g_stop_requested = 1;
    util::log_reopen();  // async-signal-safe: open and dup3
}

struct Options {
    std::string config_dir;
    std::string service;
    bool unprivileged = false;
    bool chroot = false;
    int sockets = 1;
    std::vector<std::string> overrides;
    std::vector<std::string> args;  // master.cf's arguments after the options
};

Options parse_options(int argc, char** argv, std::string_view program) {
    Options o;
    o.config_dir = mail::default_config_dir();
    o.service = std::string(program);
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) util::msg_fatal("{}: option {} needs a value", program, a);
            return argv[++i];
        };
        if (a == "-c")
            o.config_dir = value();
        else if (a == "-n")
            o.service = value();
        else if (a == "-u")
            o.unprivileged = true;
        else if (a == "-r")
            o.chroot = true;
        else if (a == "-o")
            o.overrides.push_back(value());
        else if (a == "-t")
            value();  // service type: informational
        else if (a == "-s") {
            std::string n = value();
            if (n.empty() || n.size() > 3 || n.find_first_not_of("0123456789") != std::string::npos || std::stoi(n) < 1)
                util::msg_fatal("{}: bad socket count \"{}\"", program, n);
            o.sockets = std::stoi(n);
        } else if (!a.empty() && a.front() != '-') {
            // The service's own arguments (pipe's flags= user= argv=...):
            // the rest of the line, options included.
            o.args.assign(argv + i, argv + argc);
            break;
        } else
            util::msg_fatal("{}: unknown option \"{}\"", program, a);
    }
    return o;
}

std::string main_cf_stamp(const std::string& config_dir) {
    struct stat st {};
    if (::stat((config_dir + "/main.cf").c_str(), &st) < 0) return {};
    return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
           "." + std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

namespace detail {

// A connection waiting on any listener, taking them in turn from the one
// after the last that gave one (none starves); -1 when none waits.
int accept_any(int flags) {
    static size_t next = 0;
    for (size_t i = 0; i < g_listen_fds.size(); ++i) {
        size_t k = (next + i) % g_listen_fds.size();
        int fd = ::accept4(g_listen_fds[k], nullptr, nullptr, flags);
        if (fd >= 0) {
            next = k + 1;
#ifndef __linux__
            util::set_nonblocking(fd, false);  // Linux never passes the listener's O_NONBLOCK on (accept(2))
#endif
            return fd;
        }
    }
    return -1;
}

ServerContext start(int argc, char** argv, std::string_view program, const Hooks& hooks) {
    // A child of master logs through master (util/log.hpp, relay) from its
    // first word: what it says before it has read main.cf is not lost.
    struct stat st {};
    g_have_master = ::fstat(kStatusFd, &st) == 0 && S_ISFIFO(st.st_mode);
    util::LogSetup early;
    early.program = std::string(program);
    early.hostname = mail::local_hostname();
    early.relay = g_have_master;
    util::log_init(early);
    Options o = parse_options(argc, argv, program);
    // Log where the instance logs even when a -o override is what is wrong.
    if (auto plain = mail::Config::load(o.config_dir); plain)
        if (auto log = mail::log_setup(*plain, std::string(program), false, g_have_master)) util::log_init(*log);
    auto cfg = mail::Config::load(o.config_dir, o.overrides);
    if (!cfg) util::msg_fatal("{}", cfg.error().text);
    ServerContext ctx{std::string(program), o.service, std::move(*cfg), mail::QueueDir(""), nullptr, false, {}, {}, {}};
    ctx.config_dir = o.config_dir;
    ctx.overrides = o.overrides;
    ctx.args = o.args;
    ctx.config_stamp = main_cf_stamp(o.config_dir);
    ctx.queue = mail::QueueDir(ctx.config.str("queue_directory"));
    // As master: the working directory is the queue, never the one an
    // administrator started the system from (DB_CONFIG, CVE-2017-10140).
    if (::chdir(ctx.queue.root().c_str()) < 0)
        util::msg_fatal("chdir {}: {}", ctx.queue.root(), std::strerror(errno));
    // maillog_file is written directly (a line is in the file before the
    // client hears the reply it tells of) and reopened on SIGHUP, which
    // master sends at every reload. A chrooted process could not reopen it
    // by name, and syslog's /dev/log may not be there: those log through
    // master.
    bool chrooted = o.chroot && o.unprivileged && !hooks.keep_root && util::running_as_root();
    bool relay = g_have_master && (ctx.config.str("maillog_file").empty() || chrooted);
    auto log = mail::log_setup(ctx.config, std::string(program), false, relay);
    if (!log) util::msg_fatal("{}", log.error().text);
    log->master_creates = g_have_master;
    util::log_init(*log);
    if (sodium_init() < 0) util::msg_fatal("libsodium initialisation failed");

    g_listen_fds = {kListenFd};
    for (int i = 1; i < o.sockets; ++i) g_listen_fds.push_back(kMoreListenFd + i - 1);
    for (int fd : g_listen_fds) {
        if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
            util::msg_fatal("{}: no listening socket on fd {} (run me from master)", program, fd);
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (g_have_master) ::fcntl(kStatusFd, F_SETFD, FD_CLOEXEC);
    ::signal(SIGPIPE, SIG_IGN);
    struct sigaction sa {};
    sa.sa_handler = on_sighup;
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGHUP, &sa, nullptr);

    if (hooks.pre_drop) hooks.pre_drop(ctx);
    if (o.unprivileged && !hooks.keep_root && util::running_as_root()) {
        std::string owner = ctx.config.str("mail_owner");
        auto acct = util::find_account(owner);
        if (!acct) util::msg_fatal("mail_owner {}: no such user", owner);
        if (acct->uid == 0) util::msg_fatal("mail_owner {} must not be root", owner);
        if (o.chroot) {
            // Everything outside the queue is read by now (config, log file,
            // accounts); keep the time zone for log lines. Tables are opened
            // when first used, and their libraries cannot be loaded inside
            // the queue: load them now (a failure shows when a table opens).
            ::tzset();
            (void)util::load_berkeley_db();
            (void)util::load_lmdb();
            (void)util::load_cdb();
            std::string root = ctx.queue.root();
            if (::chroot(root.c_str()) < 0 || ::chdir("/") < 0)
                util::msg_fatal("chroot {}: {}", root, std::strerror(errno));
            ctx.queue = mail::QueueDir("");
        }
        if (auto r = util::drop_privileges(acct->uid, acct->gid); !r) util::msg_fatal("{}", r.error().text);
    }
    // Die with master (the setting does not survive a change of uid). If
    // master died before this point, the status pipe has no reader left;
    // the parent is then init or a subreaper, not necessarily pid 1.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (g_have_master && master_gone()) util::msg_fatal("master went away");
    if (hooks.post_drop) hooks.post_drop(ctx);
    return ctx;
}

const std::vector<int>& listen_fds() { return g_listen_fds; }

bool stop_requested() { return g_stop_requested != 0; }

}  // namespace detail

bool refresh_config(ServerContext& ctx) {
    std::string stamp = main_cf_stamp(ctx.config_dir);
    if (stamp.empty() || stamp == ctx.config_stamp) return false;
    auto cfg = mail::Config::load(ctx.config_dir, ctx.overrides);
    if (!cfg) {
        util::msg_warn("main.cf changed but does not load; keeping the old configuration: {}", cfg.error().text);
        return false;
    }
    if (!cfg->refusals().empty()) {
        // As master's reload: a setting that asks for what kurir does not
        // provide (TLS, SASL) is never taken on, here either.
        util::msg_warn("main.cf changed but is refused; keeping the old configuration: {}", cfg->refusals().front());
        return false;
    }
    ctx.config = std::move(*cfg);
    ctx.config_stamp = stamp;
    return true;
}

void report_status(bool available) {
    if (!g_have_master) return;
    std::string m = util::attr_encode(encode_status({::getpid(), available ? ChildStatus::available : ChildStatus::busy}));
    if (::write(kStatusFd, m.data(), m.size()) != static_cast<ssize_t>(m.size()))
        util::msg_warn("status to master: {}", std::strerror(errno));
}

namespace {

struct EventBaseFree {
    void operator()(event_base* b) const { event_base_free(b); }
};
struct EventFree {
    void operator()(event* e) const { event_free(e); }
};

// A trigger frame's largest size: a request letter and a queue id or a
// domain.
constexpr size_t kMaxTriggerFrame = 4096;

// Shared loop machinery for multi and trigger servers.
struct LoopServer {
    ServerContext* ctx = nullptr;
    std::unique_ptr<event_base, EventBaseFree> base;
    std::vector<std::unique_ptr<event, EventFree>> listen_evs;
    std::unique_ptr<event, EventFree> idle_ev, hup_ev, files_ev;
    int clients = 0;
    long used = 0;
    long max_use = 0;
    long max_idle = 0;
    int per_process = 1;
    bool out_of_files = false;  // accept() failed with EMFILE/ENFILE: until a client leaves or files_ev
    bool draining = false;
    bool reported_available = false;
    std::function<bool()> busy;
    bool said_busy = false;
    bool stopped = false;

    // A break asked for before the loop runs is forgotten by libevent (the
    // loop clears it when it starts), so it is remembered here too: a reload
    // that reaches a daemon still starting up must still end it.
    void stop() {
        stopped = true;
        event_base_loopbreak(base.get());
    }

    void update() {
        bool avail = !draining && !out_of_files && clients < per_process && used < max_use;
        if (avail != reported_available) {
            report_status(avail);
            reported_available = avail;
        }
        for (auto& ev : listen_evs) {
            if (avail)
                event_add(ev.get(), nullptr);
            else
                event_del(ev.get());
        }
        if (clients == 0) {
            if (draining || used >= max_use) {
                ctx->draining = true;
                if (busy && busy()) {
                    if (!said_busy) util::msg_info("reload: exiting once the work in flight is done");
                    said_busy = true;
                    // Look again shortly: the work in flight ends on its own.
                    struct timeval tv {0, 50000};
                    event_add(idle_ev.get(), &tv);
                    return;
                }
                stop();
                return;
            }
            struct timeval tv {max_idle, 0};
            event_add(idle_ev.get(), &tv);
        } else {
            event_del(idle_ev.get());
        }
    }
};

template <class OnAccept>
int run_loop(ServerContext& ctx, int per_process, int files_per_client, bool counts_use, OnAccept on_accept,
             const std::function<void()>& before_dispatch = nullptr, std::function<bool()> busy = nullptr,
             const std::function<void(ServerContext&)>& before_exit = nullptr) {
    LoopServer srv;
    srv.busy = std::move(busy);
    srv.ctx = &ctx;
    srv.base.reset(event_base_new());
    ctx.base = srv.base.get();
    // A multi server's clients are fitted to the open-file limit.
    if (counts_use) per_process = fit_clients_to_open_files(per_process, files_per_client, ctx.program.c_str());
    srv.max_use = counts_use ? ctx.config.integer("max_use") * per_process : 1L << 60;
    srv.max_idle = counts_use ? ctx.config.seconds("max_idle") : 1L << 30;
    srv.per_process = per_process;
    for (int lfd : g_listen_fds) util::set_nonblocking(lfd, true);
    struct Accept {
        LoopServer* srv;
        OnAccept* fn;
    } acc{&srv, &on_accept};
    for (int lfd : g_listen_fds)
        srv.listen_evs.emplace_back(event_new(
            srv.base.get(), lfd, EV_READ | EV_PERSIST,
            [](evutil_socket_t lfd, short, void* arg) {
                auto* a = static_cast<Accept*>(arg);
                int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0) {
                    // Out of files, the listener stays readable: without this
                    // the loop would call here again at once. It listens
                    // again when a client leaves, or in a second (a trigger
                    // server's files are not its clients').
                    if (errno == EMFILE || errno == ENFILE) {
                        util::msg_warn("accept: {}: taking no more clients for now", std::strerror(errno));
                        a->srv->out_of_files = true;
                        a->srv->update();
                        struct timeval again {1, 0};
                        event_add(a->srv->files_ev.get(), &again);
                    }
                    return;
                }
                ++a->srv->clients;
                ++a->srv->used;
                a->srv->update();
                (*a->fn)(util::Fd(fd), [srv = a->srv] {
                    srv->out_of_files = false;
                    --srv->clients;
                    srv->update();
                });
            },
            &acc));
    srv.files_ev.reset(evtimer_new(
        srv.base.get(), [](evutil_socket_t, short, void* arg) {
            auto* s = static_cast<LoopServer*>(arg);
            s->out_of_files = false;
            s->update();
        },
        &srv));
    srv.idle_ev.reset(evtimer_new(
        srv.base.get(), [](evutil_socket_t, short, void* arg) {
            auto* s = static_cast<LoopServer*>(arg);
            if (s->ctx->draining) return s->update();  // still busy? looks again
            s->stop();
        },
        &srv));
    srv.hup_ev.reset(evsignal_new(
        srv.base.get(), SIGHUP,
        [](evutil_socket_t, short, void* arg) {
            auto* s = static_cast<LoopServer*>(arg);
            s->draining = true;
            s->ctx->draining = true;
            s->update();
        },
        &srv));
    // libevent runs hup_ev between callbacks, and a client may be served
    // inside one for minutes (smtpd): maillog_file is reopened in the
    // handler itself, before libevent's own. SIGHUP waits while libevent's
    // handler is installed without ours, or it would drain without a reopen.
    sigset_t hup, before;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &hup, &before);
    event_add(srv.hup_ev.get(), nullptr);
    struct sigaction reopen {};
    reopen.sa_handler = on_loop_sighup;
    reopen.sa_flags = SA_RESTART;
    sigemptyset(&reopen.sa_mask);
    ::sigaction(SIGHUP, &reopen, &g_libevent_hup);
    ::sigprocmask(SIG_SETMASK, &before, nullptr);
    if (g_stop_requested) srv.draining = true;
    if (before_dispatch) before_dispatch();
    srv.update();
    if (!srv.stopped) event_base_dispatch(srv.base.get());
    if (before_exit) before_exit(ctx);
    ctx.base = nullptr;
    return 0;
}

}  // namespace

int multi_server_main(int argc, char** argv, std::string_view program, MultiService service,
                      Hooks hooks, int clients_per_process, int files_per_client) {
    ServerContext ctx = detail::start(argc, argv, program, hooks);
    return run_loop(
        ctx, clients_per_process, files_per_client, true,
        [&](util::Fd fd, ClientDone done) { service(ctx, std::move(fd), std::move(done)); }, nullptr, hooks.busy,
        hooks.before_exit);
}

int trigger_server_main(int argc, char** argv, std::string_view program, TriggerService on_trigger,
                        Hooks hooks) {
    Hooks inner = hooks;
    // post_drop runs with the loop in place, so the daemon can add timers.
    inner.post_drop = nullptr;
    ServerContext ctx = detail::start(argc, argv, program, inner);
    // A connection carries trigger frames, each handled once whole. One
    // that the service answers ends with its answer (the client reads to
    // the end); one without an answer may be followed by more (cleanup
    // keeps its connection to qmgr for its next wake-up). Until its first
    // frame a connection counts as a client of this process, so that a
    // reload waits for the answer it may be owed; from then on it does not,
    // so that kept connections never hold a reload (what they carry after
    // the process ends is found by the next one's first scan).
    struct TriggerConn {
        ServerContext* ctx;
        TriggerService* fn;
        util::Fd fd;
        ClientDone done;  // empty once the connection stopped counting
        std::unique_ptr<event, EventFree> ev;
        std::string data;

        void end() {
            ClientDone d = std::move(done);
            delete this;
            if (d) d();
        }
        // The frames that are whole; false when the connection is to end.
        bool handle_frames() {
            while (!data.empty()) {
                auto size = util::attr_frame_size(data, kMaxTriggerFrame);
                if (size && (!*size || data.size() < **size)) return true;  // more is to come
                std::string frame = size ? data.substr(0, **size) : std::move(data);
                data.erase(0, size ? **size : data.size());
                std::string answer = (*fn)(*ctx, frame);
                if (!size) return false;  // malformed: the service said so; nothing after it is read
                if (!answer.empty()) {
                    util::set_nonblocking(fd.get(), false);
                    util::set_io_timeout(fd.get(), 10);
                    if (auto w = util::write_all(fd.get(), answer, "answer"); !w) util::msg_warn("{}", w.error().text);
                    return false;
                }
                if (done) std::exchange(done, nullptr)();
            }
            return true;
        }
    };
    auto run = [&](util::Fd fd, ClientDone done) {
        auto* conn = new TriggerConn{&ctx, &on_trigger, std::move(fd), std::move(done), nullptr, {}};
        conn->ev.reset(event_new(
            ctx.base, conn->fd.get(), EV_READ | EV_PERSIST | EV_TIMEOUT,
            [](evutil_socket_t fd, short what, void* arg) {
                auto* c = static_cast<TriggerConn*>(arg);
                // A process that finishes (a reload) takes no more wake-ups
                // on a kept connection, as none on its listener: the client
                // connects again, to the next process, whose first scan
                // finds what this one would have.
                if (c->ctx->draining && !c->done) return c->end();
                // Idle too long: no more may be written (the writer's next
                // write fails and it connects again), then what was written
                // before is read, so no wake-up is lost in between.
                if (!(what & EV_READ)) ::shutdown(fd, SHUT_RD);
                char buf[4096];
                for (;;) {
                    ssize_t n = ::read(fd, buf, sizeof buf);
                    if (n > 0) {
                        c->data.append(buf, static_cast<size_t>(n));
                        if (!c->handle_frames()) return c->end();
                        // A short read took all there was: the event comes
                        // again for more, or for the end.
                        if ((what & EV_READ) && static_cast<size_t>(n) < sizeof buf) return;
                        continue;
                    }
                    if (n < 0 && errno == EINTR) continue;
                    if (n < 0 && errno == EAGAIN && (what & EV_READ)) return;
                    // The end: the client's close or shutdown, an error, or idle.
                    if (!c->data.empty()) (*c->fn)(*c->ctx, c->data);  // incomplete: the service says so
                    return c->end();
                }
            },
            conn));
        struct timeval tv {10, 0};
        event_add(conn->ev.get(), &tv);
    };
    return run_loop(ctx, 1 << 20, 1, false, [&](util::Fd fd, ClientDone done) { run(std::move(fd), std::move(done)); },
                    [&] {
                        if (hooks.post_drop) hooks.post_drop(ctx);
                    },
                    hooks.busy, hooks.before_exit);
}

}  // namespace kurir::server
