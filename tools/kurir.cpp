// NAME
//   kurir - control a kurir instance
// SYNOPSIS
//   kurir [-c config_dir] init [--listen ADDR:PORT] [--hostname NAME]
//   kurir [-c config_dir] start | start-fg | stop | abort | reload | status | check | flush | logrotate
// DESCRIPTION
//   init creates a self-contained instance in config_dir (main.cf, master.cf,
//   aliases, queue/, mail/, log/) and refuses to touch one that exists.
//   start runs master in the background and returns once every listener
//   accepts; start-fg runs it in the foreground; stop signals master and waits
//   for it to exit; abort signals it and does not wait; reload makes it reread
//   its configuration; status exits 0 when the instance runs, 1 when not;
//   check validates the configuration and creates missing queue directories;
//   flush asks qmgr to retry every deferred message now. logrotate (as
//   Postfix 3.4's) renames maillog_file to maillog_file.SUFFIX, SUFFIX being
//   maillog_file_rotate_suffix through strftime(3) (never over an existing
//   file), makes a running master reopen it (as reload does: master writes
//   every process's lines), waits until nothing has the old file open, and
//   compresses it with maillog_file_compressor (empty: not compressed).
//   reload alone also reopens maillog_file, for logrotate(8)'s postrotate.
// SECURITY
//   Run by root, init creates the system user "kurir" (mail_owner), the
//   system user "kurirnobody" (default_privs: commands and files from the
//   aliases, mailboxes of names without an account) and the group
//   "kurirdrop" (setgid_group) when missing, and gives the instance's queue
//   and mail to them. Run by root, check and start refuse, as Postfix does,
//   a mail_owner, default_privs or setgid_group that is root or shares a
//   user or group ID with another of them; they first do what Postfix's
//   post-install does: create mail_owner, default_privs and setgid_group
//   when missing, give the queue directories their owners and modes
//   (queue_directory and pid/ root's, the queues mail_owner's, maildrop/
//   and public/ with setgid_group), and, for the default configuration
//   directory, make kurir-drop and kurir-queue set-gid setgid_group, mode
//   2755, again. Nothing is changed through a
//   symbolic link.
// DIAGNOSTICS
//   Exit status 0 on success, sysexits(3) codes otherwise.
#include "build_paths.hpp"
#include "mail/clients.hpp"
#include "mail/config.hpp"
#include "mail/inet_interfaces.hpp"
#include "mail/master_cf.hpp"
#include "mail/privileged_accounts.hpp"
#include "mail/queue.hpp"
#include "mail/config_trust.hpp"
#include "tools/instance.hpp"
#include "tools/system_setup.hpp"
#include "util/fs.hpp"
#include "util/privilege.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

using namespace kurir;

namespace {

[[noreturn]] void die(int code, const std::string& text) {
    fmt::print(stderr, "kurir: fatal: {}\n", text);
    std::exit(code);
}

std::string absolute(const std::string& path) {
    if (!path.empty() && path[0] == '/') return path;
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) die(EX_OSERR, "getcwd failed");
    return std::string(cwd) + "/" + path;
}

int cmd_init(const std::string& dir, const std::vector<std::string>& args) {
    tools::InstanceChoices c{dir, "127.0.0.1:2525", "", "", ""};
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--listen" && i + 1 < args.size())
            c.listen = args[++i];
        else if (args[i] == "--hostname" && i + 1 < args.size())
            c.hostname = args[++i];
        else
            die(EX_USAGE, "init: unknown argument \"" + args[i] + "\" (want --listen ADDR:PORT, --hostname NAME)");
    }
    if (c.listen.find(':') == std::string::npos) die(EX_USAGE, "init: --listen wants ADDR:PORT");
    for (char ch : c.hostname)
        if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-')) die(EX_USAGE, "init: bad --hostname");
    if (util::exists(dir + "/main.cf") || util::exists(dir + "/master.cf"))
        die(EX_CANTCREAT, dir + ": an instance exists here already; not overwriting it");
    bool root = util::running_as_root();
    std::optional<util::Account> owner;
    if (root) {
        // default_privs is an account of its own: commands and files from
        // the aliases, and the mailboxes of names without an account, must
        // not reach the queue (mail_owner's) nor another system daemon's
        // files (nobody's).
        if (auto r = tools::ensure_system_accounts("kurir", "kurirdrop"); !r) die(EX_OSERR, r.error().text);
        if (auto r = tools::ensure_system_user("kurirnobody"); !r) die(EX_OSERR, r.error().text);
        owner = util::find_account("kurir");
        c.owner = "kurir";
        c.privs = "kurirnobody";
    } else {
        owner = util::find_account(::geteuid());
        if (!owner) die(EX_NOUSER, "cannot find the account of uid " + std::to_string(::geteuid()));
        c.owner = owner->name;
        c.privs = owner->name;
    }
    for (const char* sub : {"", "/log", "/mail"})
        if (auto r = util::make_dirs(dir + sub, 0755); !r) die(EX_CANTCREAT, r.error().text);
    if (auto r = util::write_file_durable(dir, "main.cf", tools::instance_main_cf(c)); !r) die(EX_CANTCREAT, r.error().text);
    if (auto r = util::write_file_durable(dir, "master.cf", tools::instance_master_cf(c)); !r) die(EX_CANTCREAT, r.error().text);
    if (auto r = util::write_file_durable(dir, "aliases", tools::instance_aliases()); !r) die(EX_CANTCREAT, r.error().text);
    auto cfg = mail::Config::load(dir);
    if (!cfg) die(EX_CONFIG, cfg.error().text);
    mail::QueueDir queue(cfg->str("queue_directory"));
    std::optional<mail::QueueDir::Owner> qowner;
    if (root) qowner = mail::QueueDir::Owner{owner->uid, owner->gid, *util::find_group("kurirdrop")};
    if (auto r = queue.create_layout(qowner); !r) die(EX_CANTCREAT, r.error().text);
    std::string log = dir + "/log/maillog";
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) ::close(fd);
    if (root) {
        if (::chown((dir + "/mail").c_str(), owner->uid, owner->gid) < 0 ||
            ::chown(log.c_str(), owner->uid, owner->gid) < 0)
            die(EX_OSERR, "chown " + dir + ": " + std::strerror(errno));
        ::chmod((dir + "/mail").c_str(), 0755);
    }
    fmt::print("kurir: created instance {} (smtpd on {}, mail in {}/mail/USER/new/)\n", dir, c.listen, dir);
    return 0;
}

mail::Config load_or_die(const std::string& dir) {
    auto cfg = mail::Config::load(dir);
    if (!cfg) die(EX_CONFIG, cfg.error().text);
    return std::move(*cfg);
}

// The pid of the running master, or 0: the lock on the pid file is the truth.
pid_t running_master(const mail::QueueDir& queue) {
    int fd = ::open(queue.pid_file().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    util::Fd guard(fd);
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0) return 0;  // nobody holds it
    char buf[32] = "";
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;  // starting up
    return static_cast<pid_t>(std::atol(buf));
}

std::string master_path(const mail::Config& cfg) { return cfg.str("daemon_directory") + "/master"; }

// Run by root before check and start, as Postfix's post-install
// create-missing and set-permissions: mail_owner and setgid_group created
// when missing, the queue directories made and given their owners and
// modes, and, for the default configuration directory (whose instance the
// installed programs serve), kurir-drop and kurir-queue made set-gid again.
void prepare_system(const std::string& dir, const mail::Config& cfg) {
    const std::string owner_name = cfg.str("mail_owner"), group_name = cfg.str("setgid_group");
    if (auto r = tools::ensure_system_accounts(owner_name, group_name); !r) die(EX_OSERR, r.error().text);
    // default_privs too (kurirnobody in an instance init made, copied to a
    // machine without it; nobody exists everywhere).
    if (auto r = tools::ensure_system_user(cfg.str("default_privs")); !r) die(EX_OSERR, r.error().text);
    auto accounts = mail::find_privileged_accounts(cfg);
    if (!accounts) die(EX_CONFIG, accounts.error().text);
    const gid_t drop = accounts->setgid_gid;
    mail::QueueDir queue(cfg.str("queue_directory"));
    if (auto r = queue.create_layout(mail::QueueDir::Owner{accounts->mail_owner.uid, accounts->mail_owner.gid, drop});
        !r)
        die(EX_CANTCREAT, r.error().text);
    if (dir != mail::compiled_config_dir()) return;
    for (const char* program : {"kurir-drop", "kurir-queue"}) {
        auto changed = tools::repair_setgid_program(std::string(KURIR_SBINDIR) + "/" + program, drop);
        if (!changed)
            fmt::print(stderr, "kurir: warning: {}\n", changed.error().text);
        else if (!changed->empty())
            fmt::print("kurir: set-gid {}: {}\n", group_name, *changed);
    }
}

int cmd_check(const std::string& dir) {
    auto cfg = load_or_die(dir);
    int rc = 0;
    auto text = util::read_file(dir + "/master.cf");
    if (!text) die(EX_CONFIG, text.error().text);
    auto entries = mail::parse_master_cf(*text, dir + "/master.cf");
    if (!entries) die(EX_CONFIG, entries.error().text);
    auto options = mail::check_service_options(cfg, *entries, dir + "/master.cf");
    if (!options) {
        fmt::print(stderr, "kurir: error: {}\n", options.error().text);
        rc = EX_CONFIG;
        options.emplace();
    }
    for (const auto& r : cfg.refusals()) {
        fmt::print(stderr, "kurir: error: {}\n", r);
        rc = EX_CONFIG;
    }
    for (const auto& w : cfg.warnings()) {
        fmt::print(stderr, "kurir: warning: {}\n", w);
        rc = EX_CONFIG;
    }
    for (const auto& w : *options) {
        fmt::print(stderr, "kurir: warning: {}\n", w);
        rc = EX_CONFIG;
    }
    // What master and smtp would refuse at start: the addresses to listen
    // on and to send from.
    auto hosts = mail::configured_listen_hosts(cfg);
    if (!hosts) {
        fmt::print(stderr, "kurir: error: {}\n", hosts.error().text);
        rc = EX_CONFIG;
    }
    auto binds = mail::configured_smtp_bind_addresses(cfg);
    if (!binds && (hosts || binds.error().text != hosts.error().text)) {  // each error once
        fmt::print(stderr, "kurir: error: {}\n", binds.error().text);
        rc = EX_CONFIG;
    }
    for (const auto& e : *entries) {
        std::string path = cfg.str("daemon_directory") + "/" + e.command;
        if (::access(path.c_str(), X_OK) < 0) {
            fmt::print(stderr, "kurir: warning: service {}: {}: {}\n", e.name, path, std::strerror(errno));
            rc = EX_CONFIG;
        }
    }
    if (util::running_as_root()) {
        prepare_system(dir, cfg);
    } else if (auto r = mail::QueueDir(cfg.str("queue_directory")).create_layout(std::nullopt); !r) {
        die(EX_CANTCREAT, r.error().text);
    }
    return rc;
}

int cmd_start(const std::string& dir, bool foreground) {
    auto cfg = load_or_die(dir);
    mail::QueueDir queue(cfg.str("queue_directory"));
    if (pid_t pid = running_master(queue); pid != 0)
        die(EX_UNAVAILABLE, fmt::format("the kurir mail system is already running (PID: {})", pid));
    if (util::running_as_root()) prepare_system(dir, cfg);
    std::string master = master_path(cfg);
    if (foreground) {
        ::execl(master.c_str(), "master", "-c", dir.c_str(), static_cast<char*>(nullptr));
        die(EX_OSFILE, "exec " + master + ": " + std::strerror(errno));
    }
    int err[2];
    if (::pipe(err) < 0) die(EX_OSERR, "pipe");
    pid_t pid = ::fork();
    if (pid == 0) {
        ::setsid();
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(err[1], 2);
        ::close(err[0]);
        ::close(err[1]);
        ::execl(master.c_str(), "master", "-c", dir.c_str(), "-D", static_cast<char*>(nullptr));
        fmt::print(stderr, "exec {}: {}\n", master, std::strerror(errno));
        ::_exit(EX_OSFILE);
    }
    ::close(err[1]);
    // master closes its standard error once every listener is open, or dies.
    auto said = util::read_all(err[0], "master's standard error");
    ::close(err[0]);
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid || running_master(queue) == 0) {
        fmt::print(stderr, "{}", said ? *said : said.error().text + "\n");
        die(EX_UNAVAILABLE, "the mail system did not start");
    }
    fmt::print("kurir: starting the kurir mail system\n");
    return 0;
}

int cmd_stop(const std::string& dir, bool wait) {
    auto cfg = load_or_die(dir);
    mail::QueueDir queue(cfg.str("queue_directory"));
    pid_t pid = running_master(queue);
    if (pid <= 0) die(EX_UNAVAILABLE, "the kurir mail system is not running");
    if (::kill(pid, SIGTERM) < 0) die(EX_NOPERM, fmt::format("kill {}: {}", pid, std::strerror(errno)));
    fmt::print("kurir: stopping the kurir mail system\n");
    if (!wait) return 0;
    for (int i = 0; i < 6000 && running_master(queue) != 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (running_master(queue) != 0) die(EX_TEMPFAIL, "the mail system did not stop within 60 seconds");
    return 0;
}

int cmd_signal(const std::string& dir, int sig, const char* what) {
    auto cfg = load_or_die(dir);
    pid_t pid = running_master(mail::QueueDir(cfg.str("queue_directory")));
    if (pid <= 0) die(EX_UNAVAILABLE, "the kurir mail system is not running");
    if (::kill(pid, sig) < 0) die(EX_NOPERM, fmt::format("kill {}: {}", pid, std::strerror(errno)));
    fmt::print("kurir: {}\n", what);
    return 0;
}

// Until nothing has PATH open (a write lease is granted only then), or
// DEADLINE seconds. Where leases cannot be taken (a file system without
// them, a file of another owner), until master has written its first line
// into the new FRESH file, which it does right after it reopened.
bool wait_unused(const std::string& path, const std::string& fresh, bool master_running, int deadline) {
    bool leases = true;
    for (int i = 0; i < deadline * 100; ++i) {
        if (leases) {
            util::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
            if (!fd) return false;
            if (::fcntl(fd.get(), F_SETLEASE, F_WRLCK) == 0) {
                ::fcntl(fd.get(), F_SETLEASE, F_UNLCK);
                return true;
            }
            leases = errno == EAGAIN || errno == EBUSY;
        }
        if (!leases) {
            struct stat st {};
            if (!master_running || (::stat(fresh.c_str(), &st) == 0 && st.st_size > 0)) return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

int cmd_logrotate(const std::string& dir) {
    auto cfg = load_or_die(dir);
    std::string file = cfg.str("maillog_file");
    if (file.empty()) die(EX_CONFIG, "logrotate: maillog_file is not set");
    if (file.starts_with("/dev/")) die(EX_CONFIG, "logrotate: maillog_file " + file + ": cannot be rotated");
    time_t now = ::time(nullptr);
    struct tm tm {};
    ::localtime_r(&now, &tm);
    char suffix[256];
    std::string format = cfg.str("maillog_file_rotate_suffix");
    if (format.empty() || ::strftime(suffix, sizeof suffix, format.c_str(), &tm) == 0 || std::strchr(suffix, '/'))
        die(EX_CONFIG, "maillog_file_rotate_suffix " + format + ": not a file name suffix");
    std::string rotated = file + "." + suffix;
    // Never over an earlier rotation (two in one second with the default
    // suffix): that file's lines would be lost, or its compressor would
    // find ROTATED.gz there already.
    std::string parent = file.substr(0, file.rfind('/') + 1), base = rotated.substr(parent.size());
    if (DIR* d = ::opendir(parent.empty() ? "." : parent.c_str())) {
        while (const dirent* e = ::readdir(d)) {
            std::string_view n = e->d_name;
            if (n == base || (n.starts_with(base) && n.substr(base.size()).starts_with(".")))
                die(EX_CANTCREAT, fmt::format("rename {} to {}: {}{} exists", file, rotated, parent, n));
        }
        ::closedir(d);
    }
    if (::renameat2(AT_FDCWD, file.c_str(), AT_FDCWD, rotated.c_str(), RENAME_NOREPLACE) < 0) {
        if (errno != EINVAL || ::link(file.c_str(), rotated.c_str()) < 0 || ::unlink(file.c_str()) < 0)
            die(errno == EEXIST ? EX_CANTCREAT : EX_IOERR,
                fmt::format("rename {} to {}: {}", file, rotated, std::strerror(errno)));
    }
    pid_t pid = running_master(mail::QueueDir(cfg.str("queue_directory")));
    if (pid > 0 && ::kill(pid, SIGHUP) < 0) die(EX_NOPERM, fmt::format("kill {}: {}", pid, std::strerror(errno)));
    fmt::print("kurir: rotated {} to {}\n", file, rotated);
    std::string compressor = cfg.str("maillog_file_compressor");
    if (compressor.empty()) return 0;
    if (!wait_unused(rotated, file, pid > 0, 60)) {
        fmt::print(stderr, "kurir: warning: {}: still open after 60 seconds; not compressed\n", rotated);
        return EX_TEMPFAIL;
    }
    if (auto ran = tools::run_program({compressor, rotated}); !ran)
        die(EX_SOFTWARE, fmt::format("{} {}", rotated, ran.error().text));
    return 0;
}

int cmd_status(const std::string& dir) {
    auto cfg = load_or_die(dir);
    pid_t pid = running_master(mail::QueueDir(cfg.str("queue_directory")));
    if (pid == 0) {
        fmt::print("kurir: the kurir mail system is not running\n");
        return 1;
    }
    fmt::print("kurir: the kurir mail system is running: PID: {}\n", pid);
    return 0;
}

int cmd_flush(const std::string& dir) {
    auto cfg = load_or_die(dir);
    mail::QueueDir queue(cfg.str("queue_directory"));
    if (running_master(queue) == 0) die(EX_UNAVAILABLE, "the kurir mail system is not running");
    mail::send_trigger(queue, mail::service::qmgr, mail::proto::Trigger::Kind::flush, 30);
    return 0;
}

[[noreturn]] void usage() {
    fmt::print(stderr,
               "usage: kurir [-c config_dir] init [--listen ADDR:PORT] [--hostname NAME]\n"
               "       kurir [-c config_dir] start|start-fg|stop|abort|reload|status|check|flush|logrotate\n");
    std::exit(EX_USAGE);
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = mail::default_config_dir();
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc && args.empty())
            dir = argv[++i];
        else if (a == "-V" || a == "--version") {
            fmt::print("kurir {}\n", KURIR_VERSION);
            return 0;
        } else
            args.push_back(a);
    }
    if (args.empty()) usage();
    dir = absolute(dir);
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    std::string cmd = args[0];
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (cmd == "init") return cmd_init(dir, rest);
    if (!rest.empty()) usage();
    if (cmd == "start") return cmd_start(dir, false);
    if (cmd == "start-fg") return cmd_start(dir, true);
    if (cmd == "stop") return cmd_stop(dir, true);
    if (cmd == "abort") return cmd_stop(dir, false);
    if (cmd == "reload") return cmd_signal(dir, SIGHUP, "refreshing the kurir mail system");
    if (cmd == "status") return cmd_status(dir);
    if (cmd == "check") return cmd_check(dir);
    if (cmd == "flush") return cmd_flush(dir);
    if (cmd == "logrotate") return cmd_logrotate(dir);
    usage();
}
