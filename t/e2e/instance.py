"""A real kurir instance for end-to-end tests: made with `kurir init` in its
own temporary directory, on its own free loopback port, started and stopped
with the installed `kurir` program, driven with real clients."""
import fcntl
import glob
import os
import pwd
import shutil
import signal
import random
import re
import smtplib
import socket
import subprocess
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = os.environ.get("KURIR_PREFIX", os.path.join(REPO, "build", "inst"))
KURIR = os.path.join(PREFIX, "sbin", "kurir")
TEST_USER = "kurirtest"


def ipv6_loopback():
    """None when this machine has the IPv6 loopback ::1, else why not."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError as e:
        return f"this machine has no IPv6 loopback ::1 ({e})"
    return None


def free_port():
    """A port free now, below the kernel's ephemeral range (32768-60999 on
    Linux), where a test's own outgoing connections (a thousand of them in
    the connection-limit test) cannot take it before the instance binds it.
    Free on 127.0.0.1 and, where there is one, on ::1 (a listener without a
    host binds both)."""
    rng = random.SystemRandom()
    hosts = [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if ipv6_loopback() is None else [])
    for _ in range(200):
        port = rng.randrange(10000, 32000)
        try:
            for family, host in hosts:
                with socket.socket(family) as s:
                    s.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port in 10000-31999")


def ensure_test_user():
    """The unprivileged account "user" mode runs as (created once, under a
    lock: the tests run in parallel)."""
    with open("/tmp/.kurir-e2e-user.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pwd.getpwnam(TEST_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                            "/nonexistent", "--shell", "/usr/sbin/nologin", TEST_USER], check=True)
        return pwd.getpwnam(TEST_USER)


_default_config_dir = None


def default_config_dir():
    """The suite's compiled-in default configuration directory (meson option
    config_directory; the test build, made by `make`, has PREFIX/etc/kurir)."""
    global _default_config_dir
    if _default_config_dir is None:
        env = {k: v for k, v in os.environ.items() if k != "KURIR_CONFIG"}
        out = subprocess.run([os.path.join(PREFIX, "sbin", "kurir-conf"), "-d", "config_directory"], env=env,
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        _default_config_dir = out.split("=", 1)[1].strip()
    return _default_config_dir


def list_config_dir(path, listed=True):
    """Lists path in (or removes it from) alternate_config_directories of the
    default main.cf: the set-gid kurir-drop and kurir-queue act on another
    configuration for an ordinary user only when the administrator has listed
    it there, as Postfix's postdrop and postqueue. Never the system's own
    /etc/kurir: only a default inside the suite's own prefix is written."""
    default = default_config_dir()
    if not os.path.realpath(default).startswith(os.path.realpath(PREFIX) + os.sep):
        raise AssertionError(f"the suite under test has {default} as its default configuration directory; "
                             "the tests never write there: build it with -Dconfig_directory=PREFIX/etc/kurir "
                             "(as `make` does)")
    os.makedirs(default, mode=0o755, exist_ok=True)
    main_cf = os.path.join(default, "main.cf")
    name = "alternate_config_directories"
    with open("/tmp/.kurir-e2e-default-config.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(main_cf) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = ["# The default main.cf of the kurir test build (t/e2e/instance.py)"]
        dirs = []
        for line in lines:
            if line.split("=", 1)[0].strip() == name:
                dirs = line.split("=", 1)[1].split()
        dirs = [d for d in dirs if d != path] + ([path] if listed else [])
        lines = [l for l in lines if l.split("=", 1)[0].strip() != name] + [f"{name} = {' '.join(dirs)}"]
        tmp = main_cf + f".{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o644)
        os.rename(tmp, main_cf)


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


class Instance:
    """mode "root": run by root, privilege-separated. mode "user": every
    process runs as one unprivileged user."""

    def __init__(self, mode="user"):
        self.mode = mode
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="kurir-e2e-")
        os.chmod(self.tmp, 0o755)
        self.dir = os.path.join(self.tmp, "inst")
        self.account = None
        if mode == "user" and os.geteuid() == 0:
            self.account = ensure_test_user()
            os.chown(self.tmp, self.account.pw_uid, self.account.pw_gid)
        self.started = False
        self.listed = False

    # -- running the tools -------------------------------------------------
    def _prefix(self):
        if self.account is None:
            return []
        return ["setpriv", f"--reuid={self.account.pw_uid}", f"--regid={self.account.pw_gid}",
                "--clear-groups", "--"]

    def kurir(self, *args, check=True, timeout=90):
        res = subprocess.run(self._prefix() + [KURIR, "-c", self.dir, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"kurir {' '.join(args)} failed ({res.returncode}): {res.stderr}")
        return res

    def init(self, **params):
        self.kurir("init", "--listen", f"127.0.0.1:{self.port}", "--hostname", "mx.test")
        if self.mode == "root":
            # Ordinary users submit to it through the set-gid kurir-drop,
            # which needs the administrator's word (alternate_config_directories).
            # A "user" instance needs none: kurir-drop writes there with the
            # user's own rights.
            list_config_dir(self.dir)
            self.listed = True
        fast = dict(queue_run_delay="1s", minimal_backoff_time="1s", maximal_backoff_time="2s",
                    service_throttle_time="1s", smtpd_error_sleep_time="0s")
        self.set(**{**fast, **params})
        return self

    def set(self, **params):
        path = os.path.join(self.dir, "main.cf")
        with open(path, "a") as f:
            for name, value in params.items():
                f.write(f"{name} = {value}\n")

    def add_service(self, text):
        """Appends service lines to master.cf; returns the number of its
        last line."""
        path = os.path.join(self.dir, "master.cf")
        with open(path, "a") as f:
            f.write(text + "\n")
        with open(path) as f:
            return len(f.read().splitlines())

    def chroot(self, *commands):
        """Sets master.cf's chroot column to y for the services that run
        these commands."""
        path = os.path.join(self.dir, "master.cf")
        lines = []
        for line in open(path):
            fields = line.split()
            if fields and not line.startswith("#") and len(fields) > 7 and fields[7] in commands:
                fields[4] = "y"
                line = " ".join(fields) + "\n"
            lines.append(line)
        with open(path, "w") as f:
            f.write("".join(lines))

    def build_map(self, name, text, type="hash"):
        """DIR/name from text, indexed by kurir-map as the instance's
        administrator; returns "TYPE:DIR/name"."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        res = subprocess.run(self._prefix() + [os.path.join(PREFIX, "sbin", "kurir-map"), f"{type}:{path}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert res.returncode == 0, res.stderr
        return f"{type}:{path}"

    def dkim_key(self, kind, domain, selector):
        """A DKIM key (kind rsa or ed25519) made by kurir-dkim in the
        instance's directory, readable by the mail owner (cleanup signs as
        it); returns (path, the TXT record's value as bytes)."""
        path = os.path.join(self.dir, f"dkim-{selector}.pem")
        res = subprocess.run(self._prefix() + [os.path.join(PREFIX, "sbin", "kurir-dkim"), "genkey", "-t", kind,
                                               "-d", domain, "-s", selector, "-o", path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert res.returncode == 0, res.stderr
        if self.mode == "root":
            owner = pwd.getpwnam("kurir")
            os.chown(path, owner.pw_uid, owner.pw_gid)
        return path, "".join(re.findall(r'"([^"]*)"', res.stdout)).encode()

    def kurir_passwd(self, user, password, *args):
        """kurir-passwd [args] user as the instance's administrator: adds
        (or with "-d" removes) a SASL user of smtpd_sasl_password_maps."""
        res = subprocess.run(self._prefix() + [os.path.join(PREFIX, "sbin", "kurir-passwd"), "-c", self.dir, *args,
                                               user], input=password + "\n", stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        return res

    def write_aliases(self, text):
        """DIR/aliases, the instance user's in user mode; returns its path."""
        path = os.path.join(self.dir, "aliases")
        with open(path, "w") as f:
            f.write(text)
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)
        return path

    def newaliases(self):
        cmd = [os.path.join(PREFIX, "bin", "newaliases"), "-C", self.dir]
        if self.mode == "user":
            cmd = self.submitter() + cmd
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def default_privs_uid(self):
        """The uid commands and files from the aliases (and mailboxes of
        names without an account) get: kurirnobody's in root mode, never
        mail_owner's; the instance's user otherwise."""
        if self.mode == "root":
            return pwd.getpwnam("kurirnobody").pw_uid
        return os.stat(self.dir).st_uid

    def shared_dir(self, name):
        """A new directory TMP/name that the delivery rights of this mode can
        write (mode 1777, as a mail spool)."""
        path = os.path.join(self.tmp, name)
        os.mkdir(path)
        os.chmod(path, 0o1777)
        return path

    def start(self):
        self.kurir("start")
        self.started = True
        return self

    def stop(self):
        if self.started:
            self.kurir("stop", check=False)
        self.started = False

    def destroy(self):
        try:
            self.stop()
        finally:
            self.kill_all(signal.SIGKILL)
            shutil.rmtree(self.tmp, ignore_errors=True)
            if self.listed:
                list_config_dir(self.dir, listed=False)

    # -- processes -----------------------------------------------------------
    def processes(self):
        """[(pid, uid, name)] of this instance's processes."""
        out = []
        marker = f"-c {self.dir}"
        for d in glob.glob("/proc/[0-9]*"):
            try:
                with open(os.path.join(d, "cmdline"), "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
                if marker + " " not in cmd + " ":
                    continue
                uid = os.stat(d).st_uid
                out.append((int(os.path.basename(d)), uid, cmd.split()[0]))
            except OSError:
                pass
        return out

    def pids(self, name):
        return [pid for pid, _, n in self.processes() if os.path.basename(n) == name]

    def maps(self, name, library):
        """For each live process named name: whether it maps library (a
        fragment of a file name, "libcrypto")."""
        out = []
        for pid in self.pids(name):
            try:
                with open(f"/proc/{pid}/maps") as f:
                    mapped = library in f.read()
                # A child of master between its fork and exec is named
                # master until the exec: what was read counts only if the
                # process still had that name afterwards.
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv0 = f.read().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue  # it exited meanwhile
            if os.path.basename(argv0) == name:
                out.append(mapped)
        return out

    def kill_all(self, sig=signal.SIGKILL):
        for pid, _, _ in self.processes():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def submitter(self):
        """Command prefix that runs a program as an ordinary local user: the
        instance's user in "user" mode, kurirtest beside a privilege-separated
        instance, or whoever runs the tests when they are not root."""
        if os.geteuid() != 0:
            return []
        acct = self.account or ensure_test_user()
        return ["setpriv", f"--reuid={acct.pw_uid}", f"--regid={acct.pw_gid}", "--clear-groups", "--"]

    def sendmail(self, *args, input=b"", program="sendmail", timeout=60):
        exe = os.path.join(PREFIX, "sbin", "sendmail") if program == "sendmail" else program
        return subprocess.run(self.submitter() + [exe, "-C", self.dir, *args], input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)

    # -- mail ------------------------------------------------------------------
    def smtp(self, timeout=30):
        return smtplib.SMTP("127.0.0.1", self.port, timeout=timeout)

    def send(self, sender, rcpts, msg):
        with self.smtp() as s:
            return s.sendmail(sender, rcpts, msg)

    def send_concurrently(self, sessions, per_session, send):
        """`sessions` SMTP sessions at once, each calling send(smtp, n, i)
        for i in range(per_session); raises the first error any had."""
        errors = []

        def client(n):
            try:
                with self.smtp() as s:
                    for i in range(per_session):
                        send(s, n, i)
            except Exception as e:  # noqa: BLE001 - raised below
                errors.append(e)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def maildir_files(self, user):
        return sorted(glob.glob(os.path.join(self.dir, "mail", user, "new", "*")))

    def wait_delivered(self, user, count, timeout=60):
        return wait_for(lambda: len(self.maildir_files(user)) >= count and self.maildir_files(user),
                        timeout, f"{count} messages for {user}")

    def queue_files(self, *queues):
        queues = queues or ("maildrop", "incoming", "active", "deferred", "hold")
        out = []
        for q in queues:
            out += [p for p in glob.glob(os.path.join(self.dir, "queue", q, "*"))]
        return out

    def wait_queue_empty(self, timeout=60):
        return wait_for(lambda: not self.queue_files(), timeout, "an empty queue") or True

    def log(self):
        with open(os.path.join(self.dir, "log", "maillog"), errors="replace") as f:
            return f.read()
