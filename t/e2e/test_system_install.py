"""kurir as the machine's MTA, installed as root: a build configured with
--prefix=/usr --sysconfdir=/etc (build-system, made by scripts/run-tests, or
here when it is missing) is installed into a throwaway root and run there.

The throwaway root is an overlay of the machine's own / (its changes land in
the test's temporary directory) mounted in a private mount namespace with
its own network namespace (unshare -m -n): nothing the test installs, no
account it makes and no port it opens is seen outside, so the machine's
/usr/sbin/sendmail, /etc/passwd and port 25 stay as they are.

In there, as a package build and a package manager would: `meson install
--destdir` and unpack; `kurir check` creates the kurir user and kurirdrop
group and makes kurir-drop and kurir-queue set-gid; `kurir start`; mail by
the installed /usr/sbin/sendmail and over SMTP reaches a passwd user's
/var/mail mbox and, after `home_mailbox = Maildir/` and a reload, ~/Maildir;
`kurir stop`; a second `meson install` keeps the edited /etc/kurir/main.cf.
"""
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from instance import REPO, wait_for

SYSTEM_BUILD = os.environ.get("KURIR_SYSTEM_BUILD", os.path.join(REPO, "build-system"))
USER = "alice"
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}



def _namespaces_allowed():
    if os.geteuid() != 0:
        return "installs as root into a throwaway root: needs root"
    res = subprocess.run(["unshare", "--mount", "--net", "true"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, env=CLEAN_ENV)
    if res.returncode != 0:
        return f"no private mount and network namespace here (unshare -m -n: {res.stderr.strip()})"
    return None


_why_not = _namespaces_allowed()
pytestmark = pytest.mark.skipif(_why_not is not None, reason=_why_not or "")


def system_build():
    """build-system, configured for /usr and /etc and built (ninja does
    nothing when scripts/run-tests has built it already)."""
    with open("/tmp/.kurir-e2e-build-system.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(SYSTEM_BUILD, "build.ninja")):
            subprocess.run(["meson", "setup", SYSTEM_BUILD, "--prefix=/usr", "--sysconfdir=/etc"], cwd=REPO,
                           check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["ninja", "-C", SYSTEM_BUILD], check=True, stdout=subprocess.DEVNULL)
    return SYSTEM_BUILD


class Throwaway:
    """A private mount and network namespace holding an overlay of / at
    self.root, kept alive by one sleeping process; run() runs a command
    chrooted there."""

    def __init__(self, tmp):
        # The checkout is bound in at its own path: under /tmp (hidden by
        # the fresh tmpfs) or on a file system of its own (not in the
        # overlay of /), the build to install would not be there otherwise.
        self.tmp = tmp
        self.root = os.path.join(tmp, "root")
        self.upper = os.path.join(tmp, "upper")
        for d in ("root", "upper", "work"):
            os.mkdir(os.path.join(tmp, d))
        setup = f"""set -e
mount --make-rprivate /
mount -t overlay overlay -o lowerdir=/,upperdir={self.upper},workdir={tmp}/work {self.root}
mount -t proc proc {self.root}/proc
mount --rbind /dev {self.root}/dev
mount -t tmpfs -o mode=1777 tmpfs {self.root}/tmp
mount -t tmpfs -o mode=755 tmpfs {self.root}/run
mkdir -p {self.root}{REPO}
mount --rbind {REPO} {self.root}{REPO}
ip link set lo up
echo ready
exec sleep 100000
"""
        self.holder = subprocess.Popen(["unshare", "--mount", "--net", "sh", "-c", setup], stdout=subprocess.PIPE,
                                       text=True, env=CLEAN_ENV)
        line = self.holder.stdout.readline()
        if line.strip() != "ready":
            self.holder.wait(timeout=10)
            raise AssertionError(f"could not make the throwaway root (exit {self.holder.returncode})")
        self.netns = os.readlink(f"/proc/{self.holder.pid}/ns/net")

    def run(self, script, check=True, timeout=120):
        """sh -c script, as root, chrooted in the overlay."""
        res = subprocess.run(["nsenter", f"--target={self.holder.pid}", "--mount", "--net", "chroot", self.root,
                              "sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=CLEAN_ENV, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"{script!r} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        return res

    def out(self, script):
        return self.run(script).stdout.strip()

    def close(self):
        # Every process in the namespace is one this test started (the
        # holder, kurir's master and its children, whatever a failed step
        # left): each is killed by its pid, then the namespace goes with them.
        for _ in range(50):
            pids = []
            for d in os.listdir("/proc"):
                if not d.isdigit():
                    continue
                try:
                    if os.readlink(f"/proc/{d}/ns/net") == self.netns:
                        pids.append(int(d))
                except OSError:
                    pass
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        self.holder.wait(timeout=10)


@pytest.fixture
def throwaway():
    tmp = tempfile.mkdtemp(prefix="kurir-e2e-sys-")
    box = None
    try:
        box = Throwaway(tmp)
        yield box
    finally:
        if box is not None:
            box.close()
        shutil.rmtree(tmp, ignore_errors=True)


def stat_of(box, path):
    """(owner, group, octal mode) of path in the throwaway root."""
    return tuple(box.out(f"stat -c '%U %G %a' {path}").split())


def test_system_install_as_root_starts_and_delivers(throwaway):
    build = system_build()
    box = throwaway
    # The machine may hold kurir's accounts (the root-mode tests make them):
    # in here they are gone, so that kurir check has to make them.
    box.run("! getent passwd kurir >/dev/null || userdel kurir; "
            "! getent group kurir >/dev/null || groupdel kurir; "
            "! getent group kurirdrop >/dev/null || groupdel kurirdrop")
    assert box.run("test -e /etc/kurir", check=False).returncode != 0

    # A package build: everything under DESTDIR, nothing in the system, no
    # account made, kurir-drop not set-gid yet (the target machine's group).
    box.run(f"meson install -C {build} --no-rebuild --strip --destdir /tmp/pkg")
    for f in ("main.cf", "master.cf", "aliases"):
        assert box.out(f"cat /tmp/pkg/etc/kurir/{f}") == box.out(f"cat /tmp/pkg/usr/share/kurir/{f}")
    assert box.run("test -e /etc/kurir", check=False).returncode != 0
    assert box.run("getent group kurirdrop", check=False).returncode != 0
    assert stat_of(box, "/tmp/pkg/usr/sbin/kurir-drop")[2] == "755"
    # The package manager unpacks it.
    box.run("tar -C /tmp/pkg -cf - . | tar -C / --no-overwrite-dir -xf -")
    assert box.out("/usr/sbin/kurir-conf -d config_directory") == "config_directory = /etc/kurir"
    assert box.out("/usr/sbin/kurir-conf queue_directory") == "queue_directory = /var/spool/kurir"

    # kurir check, as post-install set-permissions: accounts, queue, set-gid.
    res = box.run("kurir check", check=False)
    assert res.returncode == 0, res.stderr
    assert "kurir: set-gid kurirdrop: /usr/sbin/kurir-drop" in res.stdout
    assert "kurir: set-gid kurirdrop: /usr/sbin/kurir-queue" in res.stdout
    assert box.out("getent passwd kurir | cut -d: -f7") == "/usr/sbin/nologin"
    box.run("getent group kurirdrop")
    assert stat_of(box, "/usr/sbin/kurir-drop") == ("root", "kurirdrop", "2755")
    assert stat_of(box, "/usr/sbin/kurir-queue") == ("root", "kurirdrop", "2755")
    assert stat_of(box, "/var/spool/kurir") == ("root", "root", "755")
    assert stat_of(box, "/var/spool/kurir/maildrop") == ("kurir", "kurirdrop", "1730")
    assert stat_of(box, "/var/spool/kurir/public") == ("kurir", "kurirdrop", "710")
    assert stat_of(box, "/var/spool/kurir/incoming") == ("kurir", "kurir", "700")
    assert stat_of(box, "/var/spool/kurir/pid") == ("root", "root", "755")
    # A set-gid bit lost (a copy, a chmod) is repaired by the next check.
    box.run("chmod 755 /usr/sbin/kurir-drop && chgrp root /usr/sbin/kurir-drop && chmod 755 /var/spool/kurir/maildrop")
    assert "set-gid kurirdrop: /usr/sbin/kurir-drop" in box.out("kurir check")
    assert stat_of(box, "/usr/sbin/kurir-drop") == ("root", "kurirdrop", "2755")
    assert stat_of(box, "/var/spool/kurir/maildrop") == ("kurir", "kurirdrop", "1730")

    # The administrator's edits: a log file, the aliases database.
    box.run("kurir-conf -e maillog_file=/var/log/kurir.log && newaliases")
    box.run(f"useradd --create-home --shell /bin/sh {USER}")
    uid = box.out(f"id -u {USER}")

    # kurir start does the same as check first: a group removed since (its
    # files now carry a stale gid) is made again and everything given to it.
    box.run("groupdel kurirdrop && chmod 755 /usr/sbin/kurir-queue")
    res = box.run("kurir start", check=False)
    assert res.returncode == 0, res.stderr + box.run("cat /var/log/kurir.log", check=False).stdout
    assert "set-gid kurirdrop: /usr/sbin/kurir-queue" in res.stdout
    for path, want in (("/usr/sbin/kurir-drop", ("root", "kurirdrop", "2755")),
                       ("/usr/sbin/kurir-queue", ("root", "kurirdrop", "2755")),
                       ("/var/spool/kurir/maildrop", ("kurir", "kurirdrop", "1730")),
                       ("/var/spool/kurir/public", ("kurir", "kurirdrop", "710"))):
        assert stat_of(box, path) == want, path
    try:
        # A user's mail program calls /usr/sbin/sendmail (kurir's now).
        box.run(f"printf 'Subject: by sendmail\\n\\nhello\\n' | setpriv --reuid={USER} --regid={USER} "
                f"--init-groups /usr/sbin/sendmail -i {USER}")
        box.run("/usr/bin/python3 -c \"import smtplib; s = smtplib.SMTP('127.0.0.1', 25); "
                f"s.sendmail('s@client.test', ['{USER}@localhost'], 'Subject: by smtp\\r\\n\\r\\nhi\\r\\n'); "
                "s.quit()\"")
        mbox = f"/var/mail/{USER}"

        def mbox_subjects():
            res = box.run(f"grep '^Subject:' {mbox}", check=False)
            return sorted(res.stdout.splitlines()) if res.returncode == 0 else []

        wait_for(lambda: len(mbox_subjects()) == 2, timeout=60, what=f"two messages in {mbox}")
        assert mbox_subjects() == ["Subject: by sendmail", "Subject: by smtp"]
        assert box.out(f"stat -c '%u %a' {mbox}") == f"{uid} 600"
        text = box.out(f"cat {mbox}")
        assert text.startswith("From "), text[:200]
        assert f"uid={uid} from=<{USER}>" in box.out("cat /var/log/kurir.log")

        # home_mailbox = Maildir/ and a reload: the next message goes to ~/Maildir.
        box.run("kurir-conf -e home_mailbox=Maildir/ && kurir reload")
        home = box.out(f"getent passwd {USER} | cut -d: -f6")
        new = f"{home}/Maildir/new"

        def maildir_files():
            res = box.run(f"ls {new}", check=False)
            return res.stdout.split() if res.returncode == 0 else []

        # A message sent before master has reread main.cf may still land in the
        # mbox; send until one is in Maildir (a reload is not synchronous).
        deadline = time.monotonic() + 60
        sent = 0
        while not maildir_files():
            assert time.monotonic() < deadline, f"nothing in {new}: " + box.out("tail -20 /var/log/kurir.log")
            box.run(f"printf 'Subject: to maildir\\n\\nx\\n' | /usr/sbin/sendmail -i {USER}@localhost")
            sent += 1
            wait_for(lambda: len(maildir_files()) + len(mbox_subjects()) >= 2 + sent, timeout=60,
                     what="the message after the reload delivered")
        name = maildir_files()[0]
        assert "Subject: to maildir" in box.out(f"cat {new}/{name}")
        assert box.out(f"stat -c '%u' {new}/{name} {home}/Maildir") == f"{uid}\n{uid}"
    finally:
        stop = box.run("kurir stop", check=False)
    assert stop.returncode == 0, stop.stderr
    assert box.run("kurir status", check=False).returncode == 1

    # A second install (as root, into the system) keeps the edited main.cf,
    # puts back a stock file that is missing, and sets the set-gid bits.
    edited = box.out("cat /etc/kurir/main.cf")
    assert "home_mailbox = Maildir/" in edited and "maillog_file = /var/log/kurir.log" in edited
    box.run("rm /etc/kurir/aliases")
    box.run(f"meson install -C {build} --no-rebuild --strip")
    assert box.out("cat /etc/kurir/main.cf") == edited
    assert box.out("cat /etc/kurir/aliases") == box.out("cat /usr/share/kurir/aliases")
    assert stat_of(box, "/usr/sbin/kurir-drop") == ("root", "kurirdrop", "2755")
