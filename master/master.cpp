// NAME
//   master - the kurir supervisor
// SYNOPSIS
//   master [-c config_dir] [-D]
// DESCRIPTION
//   Reads main.cf and master.cf, creates the queue directories, takes the
//   instance's lock (queue/pid/master.pid), opens every listener of
//   master.cf (inet and unix), and starts service processes on demand: a
//   service with no available process gets a new one (up to maxproc) when a
//   client knocks on its listener. Services with a wakeup time start at once
//   and are woken periodically. Children that die are replaced; a service
//   whose processes fail right after start is throttled for
//   service_throttle_time. SIGHUP rereads the configuration (listeners that
//   stay are kept open; old processes finish and exit); SIGTERM stops all.
//   With -D, standard error is closed once every listener is open, which
//   tells "kurir start" that the instance is up. master and every service
//   work in queue_directory, never in the directory they were started from.
//   Every child's standard output and error is a pipe that master reads
//   and logs: what a child says before it has read main.cf, when exec
//   fails, or in a crash, and every line of a child that logs to syslog
//   (master sends them on with the child's tag, pid and time) or that is
//   chrooted. SIGHUP reopens maillog_file by name first (logrotate(8),
//   kurir logrotate); the children reopen it on the SIGHUP of a reload.
//   For an smtpd service with TLS (smtpd_tls_security_level may or
//   encrypt, or -o smtpd_tls_wrappermode=yes) master reads the key and
//   certificate files at start and at reload and checks them with the
//   service's settings: at start a file that is missing, unreadable or
//   does not match stops master with a message naming it; at reload it is
//   logged and new smtpd processes get the last good credentials, on fd 5.
// SECURITY
//   Runs as root in a system instance, to open privileged ports and to start
//   local(8) as root; every service marked unprivileged drops to mail_owner
//   before it reads a byte of input. master itself parses only its own
//   configuration files.
//   An inet service whose listener names no host ("smtp inet ...",
//   "2525 inet ...") listens on each inet_interfaces address of the
//   inet_protocols families; "127.0.0.1:2525" or "[::1]:2525" only there.
//   Both are read at start: reload keeps every listener and warns that a
//   change needs a stop and start, as Postfix.
// CONFIGURATION PARAMETERS
//   inet_interfaces, inet_protocols,
//   queue_directory, daemon_directory, mail_owner, setgid_group,
//   default_process_limit, service_throttle_time, maillog_file,
//   syslog_name, syslog_facility, smtpd_tls_cert_file,
//   smtpd_tls_key_file, smtpd_tls_chain_files (and the smtpd_tls settings
//   they are checked with)
#include "build_paths.hpp"
#include "daemons/daemons.hpp"
#include "mail/log_config.hpp"
#include "master/master_log.hpp"
#include "master/master_service.hpp"
#include "util/log.hpp"

#include <event2/event.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>

using namespace kurir;

namespace {

struct Loop {
    event_base* base;
    master::Master* m;
    bool stopping = false;
    int stop_signal = 0;
};

void usage() {
    util::msg_fatal("usage: master [-c config_dir] [-D]");
}

}  // namespace

int kurir::daemons::master_main(int argc, char** argv) {
    util::LogSetup early;
    early.program = "master";
    early.hostname = mail::local_hostname();
    early.also_stderr = true;
    util::log_init(early);
    std::string config_dir = mail::default_config_dir();
    bool detach = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc)
            config_dir = argv[++i];
        else if (a == "-D")
            detach = true;
        else
            usage();
    }
    // master leaves the administrator's working directory (below), so the
    // name it hands to every child must not depend on it.
    if (!config_dir.starts_with("/")) {
        char cwd[4096];
        if (::getcwd(cwd, sizeof cwd) == nullptr) util::msg_fatal("getcwd: {}", std::strerror(errno));
        config_dir = std::string(cwd) + "/" + config_dir;
    }
    ::umask(022);
    event_base* base = event_base_new();
    master::Master m(base, config_dir);
    auto cfg = mail::Config::load(config_dir);
    if (!cfg) util::msg_fatal("{}", cfg.error().text);
    auto log = mail::log_setup(*cfg, "master", true);
    if (!log) util::msg_fatal("{}", log.error().text);
    util::log_init(*log);

    // One master per queue: the lock lives as long as this process.
    std::string queue_directory = cfg->str("queue_directory");
    if (!queue_directory.starts_with("/"))
        util::msg_fatal("queue_directory {}: not an absolute path", queue_directory);
    mail::QueueDir queue(queue_directory);
    if (auto r = util::make_dirs(queue.root() + "/pid", 0755); !r) util::msg_fatal("{}", r.error().text);
    // Out of the administrator's working directory, into one root and
    // mail_owner control: nothing master or a child opens by a relative
    // name (Berkeley DB's DB_CONFIG, CVE-2017-10140) comes from there.
    if (::chdir(queue.root().c_str()) < 0) util::msg_fatal("chdir {}: {}", queue.root(), std::strerror(errno));
    int lock_fd = ::open(queue.pid_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) util::msg_fatal("open {}: {}", queue.pid_file(), std::strerror(errno));
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) < 0)
        util::msg_fatal("the kurir mail system is already running (lock on {})", queue.pid_file());

    if (auto r = m.configure(); !r) util::msg_fatal("{}", r.error().text);
    // Every child's standard output and error, passed on to the log.
    master::LogPipe log_pipe;
    if (auto r = log_pipe.open(base); !r) util::msg_fatal("{}", r.error().text);
    m.set_log_fd(log_pipe.write_fd());
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(lock_fd, 0) < 0 || ::pwrite(lock_fd, pid.data(), pid.size(), 0) < 0)
        util::msg_fatal("write {}: {}", queue.pid_file(), std::strerror(errno));

    Loop loop{base, &m};
    auto on_signal = [](evutil_socket_t sig, short, void* arg) {
        auto* l = static_cast<Loop*>(arg);
        if (sig == SIGCHLD) {
            l->m->reap_children();
            if (l->stopping && !l->m->has_children()) event_base_loopbreak(l->base);
        } else if (sig == SIGHUP) {
            if (l->stopping) return;
            // maillog_file by name again first: logrotate(8) or "kurir
            // logrotate" renamed it, and every line from here on (children's
            // too, master writes them) goes to the new file.
            util::log_reopen();
            l->m->reload();
            if (auto log = mail::log_setup(l->m->config(), "master", util::log_setup().also_stderr))
                util::log_init(*log);
            else
                util::msg_warn("{}", log.error().text);
        } else {
            if (!l->stopping) util::msg_info("terminating on signal {}", sig);
            l->stopping = true;
            l->m->stop_all(SIGTERM);
            if (!l->m->has_children()) event_base_loopbreak(l->base);
        }
    };
    std::vector<event*> sigs;
    for (int sig : {SIGCHLD, SIGHUP, SIGTERM, SIGINT}) {
        sigs.push_back(evsignal_new(base, sig, on_signal, &loop));
        event_add(sigs.back(), nullptr);
    }
    ::signal(SIGPIPE, SIG_IGN);
    m.start_all();
    util::msg_info("daemon started -- version {}, configuration {}", KURIR_VERSION, config_dir);
    if (detach) {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        if (null > 2) ::close(null);
        util::LogSetup quiet = util::log_setup();
        quiet.also_stderr = false;
        util::log_init(quiet);
    }
    event_base_dispatch(base);
    log_pipe.drain();  // the last words of the children
    for (auto* e : sigs) event_free(e);
    ::close(lock_fd);
    return 0;
}
