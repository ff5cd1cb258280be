#!/usr/bin/python3
"""kurir against Postfix on the same machine, in the same run.

Run as root (`make bench`): installs Debian's postfix if missing, configures
it on loopback (port 2641, home_mailbox = Maildir/ for user kurirbench,
default durability), makes a kurir instance on port 2640 delivering to the
same ~/Maildir (home_mailbox = Maildir/), and runs each scenario on both, alternating A B A B for --reps
repetitions. Prints a table of medians (min-max) and the kurir/Postfix
ratio, and writes it to bench/RESULTS.md. Every run checks itself: all
messages delivered, none twice, queue empty; a run that loses mail fails.

Scenarios (issue: benchmark against Postfix):
  smtp-N   SMTP in -> local Maildir, smtp-source with N sessions, 4 KB messages
  tls-N    the same with STARTTLS on every session (bench/tls_source.cpp, as
           smtp-source has no TLS), one self-signed RSA 2048 certificate for both
  rcpt10   the same with 10 recipients per message
  policy-N smtp-N with a realistic policy on both MTAs (issue 15): ten
           recipient restrictions, two hash access maps of 1,000 keys each
           (clients; senders, also asked for the recipient) and a regexp
           header_checks table of 22 patterns, none of which match: every
           rule is evaluated for every message. Compare with smtp-N of the same MTA in the same run.
  virtual-N smtp-N into a virtual mailbox domain (issue 16): virtual_mailbox_maps
           is an lmdb table of 1,001 users built by each MTA's own tool, and
           both MTAs' virtual(8) deliver to /home/vkurirbench/Maildir as the
           bench user's uid (virtual_uid_maps = static:UID), no passwd lookup
  milter-N smtp-N with smtpd_milters on both MTAs (issue 17): one pymilter
           (t/e2e/milter_script.py, behaviour add_header) on loopback that
           adds a header at the end of each message; the same milter process
           for both
  sendmail local injection: sendmail invocations, 1 and 4 in parallel
  relay-N  SMTP in -> smtp client -> Postfix's smtp-sink on loopback (port
           2642, both MTAs' relayhost), N sessions in
  backlog  N messages queued while local delivery is held (defer_transports
           = local), then released (reload + flush): time to drain, peak qmgr
           memory per queued message
  idle     2,000 concurrent idle SMTP sessions: memory per greeted session
           (PSS growth of the tree / sessions that got a 220), and whether a
           message still gets through while they are open
"""
import argparse
import atexit
import concurrent.futures
import functools
import glob
import json
import os
import resource
import smtplib
import socket
import shutil
import subprocess
import sys
import threading
import time

import report
from disk import Ext4Journal, Tmpfs
from syscalls import SyscallCount, available as syscalls_unavailable

from mtas import (BENCH_USER, MILTER_PORT, RELAY_DOMAIN, REPO, SINK_PORT, TLS_SOURCE, TRASH, Kurir, Postfix,
                  clear_maildirs, ensure_user, list_config_dir, rcpt_users)


# -- process tree accounting ----------------------------------------------------
def tree(root_pid):
    kids = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
            kids.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def cpu_seconds(root_pid):
    """utime+stime of the live tree plus what the root reaped (cutime+cstime)."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in tree(root_pid):
        try:
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(f[11]) + int(f[12])
        if pid == root_pid:
            total += int(f[13]) + int(f[14])
    return total / hz


class PeakPss:
    """Samples the tree's summed PSS in a thread, four times a second: often
    enough for a peak, rarely enough not to eat the CPU being measured (a
    sample reads every process's smaps_rollup)."""

    def __init__(self, root_pid, interval=0.25):
        self.root_pid, self.peak, self.interval = root_pid, 0, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while True:
            self.peak = max(self.peak, pss_kb(self.root_pid))
            if self._stop.wait(self.interval):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def pss_kb(root_pid):
    total = 0
    for pid in tree(root_pid):
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total



# -- scenarios --------------------------------------------------------------------
def wait_delivered(mta, expected, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mta.delivered() >= expected and mta.queue_empty():
            return True
        time.sleep(0.05)
    return False


def start_milter():
    """The milter of milter-N: t/e2e/milter_script.py adding a header."""
    port = MILTER_PORT
    record = os.path.join(TRASH, "milter.jsonl")
    os.makedirs(TRASH, exist_ok=True)
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "t", "e2e", "milter_script.py"), str(port),
                             "add_header_quiet", record], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"inet:127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("bench: the milter did not start")


def run_smtp(mta, user, sessions, messages, rcpts, tls=False, policy=False, virtual=False, milter=None,
             syscalls=False):
    """smtp-source's sessions, or with tls tls-source's: STARTTLS on each.
    With syscalls, the system calls of the MTA's tree per delivered message
    (bench/syscalls.py), in total and per daemon."""
    mta.use_milter(milter or "")
    mta.use_tls(tls)
    mta.use_policy(policy)
    mta.use_virtual(virtual)
    mta.start()
    pid = mta.master_pid()
    counter = SyscallCount(mta.name, pid, tree).start() if syscalls else None
    cpu0 = cpu_seconds(pid)
    t0 = time.monotonic()
    args = [TLS_SOURCE if tls else "smtp-source", "-s", str(sessions), "-m", str(messages), "-l", "4096",
            "-f", "bench@client.test", "-t", f"{BENCH_USER}@{mta.rcpt_domain}"]
    if rcpts > 1:
        args += ["-r", str(rcpts)]
    with PeakPss(pid) as pss:
        src = subprocess.Popen(args + [f"127.0.0.1:{mta.port}"])
        src.wait()
        t_acc = time.monotonic() - t0
        expected = messages * rcpts
        ok = wait_delivered(mta, expected)
        t_del = time.monotonic() - t0
    peak = pss.peak
    cpu = cpu_seconds(pid) - cpu0
    counts = counter.stop() if counter else {}
    got = mta.delivered()
    mta.stop()
    if counter:
        counter.remove()
    mta.use_tls(False)
    mta.use_policy(False)
    mta.use_virtual(False)
    mta.use_milter("")
    # smtp-source sends the same message each time: count, not ids.
    correct = ok and got == expected and src.returncode == 0
    return {"accepted/s": messages / t_acc, "delivered/s": expected / t_del,
            "cpu s/1000": cpu / expected * 1000, "peak PSS MB": peak / 1024,
            **{f"syscalls/msg {g}": float(n) / expected for g, n in counts.items()},
            **{f"cpu us/msg {g}": float(n) / expected for g, n in (counter.cpu.items() if counter else [])},
            "ok": correct,
            "detail": f"{got}/{expected} delivered"}


def run_relay(mta, sessions, messages):
    from peers import SmtpSink  # the e2e tests' wrapper of Postfix's smtp-sink

    with SmtpSink(dump=False, port=SINK_PORT, user="nobody") as sink:
        mta.start()
        pid = mta.master_pid()
        cpu0 = cpu_seconds(pid)
        t0 = time.monotonic()
        with PeakPss(pid) as pss:
            src = subprocess.Popen(["smtp-source", "-s", str(sessions), "-m", str(messages), "-l", "4096",
                                    "-f", "bench@client.test", "-t", f"bench@{RELAY_DOMAIN}",
                                    f"127.0.0.1:{mta.port}"])
            src.wait()
            t_acc = time.monotonic() - t0
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and not (sink.count() >= messages and mta.queue_empty()):
                time.sleep(0.05)
            t_del = time.monotonic() - t0
        peak = pss.peak
        cpu = cpu_seconds(pid) - cpu0
        got = sink.count()
        mta.stop()
    correct = got == messages and src.returncode == 0 and mta.queue_empty()
    return {"accepted/s": messages / t_acc, "delivered/s": messages / t_del, "cpu s/1000": cpu / messages * 1000,
            "peak PSS MB": peak / 1024, "ok": correct, "detail": f"{got}/{messages} at the sink"}


def process_pss_kb(root_pid, name):
    """Summed PSS of the processes in root_pid's tree whose command is name."""
    total = 0
    for pid in tree(root_pid):
        try:
            if os.path.basename(open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0]).decode() != name:
                continue
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except (OSError, IndexError):
            pass
    return total


def run_backlog(mta, messages):
    mta.hold_local(True)
    mta.start()
    pid = mta.master_pid()
    src = subprocess.run(["smtp-source", "-s", "50", "-m", str(messages), "-l", "4096", "-f", "bench@client.test",
                          "-t", f"{BENCH_USER}@{mta.rcpt_domain}", f"127.0.0.1:{mta.port}"])
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and mta.deferred_count() < messages:
        time.sleep(0.1)
    held = mta.deferred_count()
    mta.hold_local(False)
    cpu0 = cpu_seconds(pid)
    t0 = time.monotonic()
    mta.release()
    peak_qmgr = 0
    deadline = time.monotonic() + 1800
    # Every 2 s: a drain lasts over a minute, and each sample walks every
    # process's memory map while they work.
    with PeakPss(pid, interval=2.0) as pss:
        while time.monotonic() < deadline and not (mta.delivered() >= messages and mta.queue_empty()):
            peak_qmgr = max(peak_qmgr, process_pss_kb(mta.master_pid(), "qmgr"))
            time.sleep(0.2)
    t_drain = time.monotonic() - t0
    cpu = cpu_seconds(mta.master_pid()) - cpu0
    got = mta.delivered()
    mta.stop()
    correct = src.returncode == 0 and held == messages and got == messages
    return {"drained/s": messages / t_drain, "cpu s/1000": cpu / messages * 1000, "peak PSS MB": pss.peak / 1024,
            "qmgr peak PSS MB": peak_qmgr / 1024, "qmgr bytes/msg": peak_qmgr * 1024 / messages, "ok": correct,
            "detail": f"{held} held, {got}/{messages} delivered"}


def run_idle(mta, sessions):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, sessions + 256), max(hard, sessions + 256)))
    mta.start()
    pid = mta.master_pid()
    time.sleep(1)
    before = pss_kb(pid)
    socks = []
    refused = 0
    for i in range(sessions):
        try:
            socks.append(socket.create_connection(("127.0.0.1", mta.port), timeout=2))
        except OSError:
            # A server whose listen queue is full completes no more
            # connections: count the rest as not connected.
            refused = sessions - i
            break
    time.sleep(3)  # let the server accept and greet them all
    greeted = 0
    for s in socks:
        s.setblocking(False)
        try:
            greeted += 1 if s.recv(512).startswith(b"220") else 0
        except BlockingIOError:
            pass
    after = pss_kb(pid)
    through = False
    try:
        with smtplib.SMTP("127.0.0.1", mta.port, timeout=30) as c:
            c.sendmail("bench@client.test", [f"{BENCH_USER}@localhost"], "Subject: through\r\n\r\nstill\r\n")
        through = wait_delivered(mta, 1, timeout=30)
    except (OSError, smtplib.SMTPException):
        through = False
    for s in socks:
        s.close()
    mta.stop()
    return {"KB/session": (after - before) / max(greeted, 1), "greeted": float(greeted), "through": float(through),
            "ok": True, "detail": f"{len(socks)} connected ({refused} not), {greeted} greeted, message through: {through}"}


def run_sendmail(mta, user, parallel, count):
    mta.start()
    pid = mta.master_pid()
    cpu0 = cpu_seconds(pid)
    # One client process as the user for the whole run (bench/inject.py):
    # setpriv --init-groups per call cost about 7 ms here, as much as kurir's
    # sendmail and kurir-drop together, the same constant added to both MTAs.
    inject = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--",
              "/usr/bin/python3", os.path.join(REPO, "bench", "inject.py"), str(count), str(parallel),
              f"{BENCH_USER}@localhost"] + mta.sendmail()

    t0 = time.monotonic()
    with PeakPss(pid) as pss:
        run = subprocess.run(inject, stdout=subprocess.PIPE, text=True)
        try:
            codes = json.loads(run.stdout) if run.returncode == 0 else [run.returncode]
        except ValueError:
            codes = [1]
        codes = codes if len(codes) == count else codes + [1]
        t_acc = time.monotonic() - t0
        ok = wait_delivered(mta, count)
        t_del = time.monotonic() - t0
    cpu = cpu_seconds(pid) - cpu0
    ids = mta.message_ids()
    mta.stop()
    correct = ok and all(c == 0 for c in codes) and len(ids) == count and len(set(ids)) == count
    return {"accepted/s": count / t_acc, "delivered/s": count / t_del, "cpu s/1000": cpu / count * 1000,
            "peak PSS MB": pss.peak / 1024, "ok": correct, "detail": f"{len(set(ids))}/{count} unique delivered"}


def fsync_rate(path):
    fd = os.open(os.path.join(path, "fsync-probe"), os.O_WRONLY | os.O_CREAT, 0o600)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 1.0:
        os.write(fd, b"x")
        os.fsync(fd)
        n += 1
    os.close(fd)
    os.unlink(os.path.join(path, "fsync-probe"))
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=None, help="repetitions of each scenario (3; --quick: 5)")
    ap.add_argument("--messages", type=int, default=None, help="messages per SMTP run (10000; --quick: 5000)")
    ap.add_argument("--injections", type=int, default=2000)
    ap.add_argument("--backlog", type=int, default=50000)
    ap.add_argument("--only", default="")
    ap.add_argument("--quick", action="store_true",
                    help="smtp-10 alone, 5 x 5,000 messages per MTA, alternating: a side-by-side check in a few minutes")
    ap.add_argument("--disk", choices=["as-is", "tmpfs", "ext4-journal"], default="as-is",
                    help="tmpfs: both MTAs' queues and the bench users' Maildirs on tmpfs (bench/disk.py), to tell "
                         "CPU from waiting for the disk; ext4-journal: on an ext4 with a journal in an image on "
                         "this disk; compare with a run as-is")
    ap.add_argument("--syscalls", action="store_true",
                    help="count the system calls of each MTA's process tree per message in the SMTP scenarios "
                         "(perf stat per cgroup: in total and per daemon), and each daemon's CPU per message")
    args = ap.parse_args()
    if args.quick:
        args.only = args.only or "smtp-10"
    args.reps = args.reps or (5 if args.quick else 3)
    args.messages = args.messages or (5000 if args.quick else 10000)
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it configures Postfix and a privilege-separated kurir)")
    if args.syscalls and syscalls_unavailable():
        sys.exit(f"bench: --syscalls: {syscalls_unavailable()}")
    started = time.monotonic()
    user = ensure_user()
    rcpt_users(10)
    disk = {"tmpfs": Tmpfs, "ext4-journal": Ext4Journal}.get(args.disk, lambda: None)()
    if disk:
        atexit.register(disk.close)
    mtas = [Kurir(user, disk), Postfix(user)]
    if disk:
        clear_maildirs()
        for d in ["/var/spool/postfix"] + sorted(glob.glob("/home/*kurirbench")):
            disk.cover(d)
    smtp = functools.partial(run_smtp, syscalls=args.syscalls)
    scenarios = [
        ("smtp-1", lambda m: smtp(m, user, 1, args.messages, 1)),
        ("smtp-10", lambda m: smtp(m, user, 10, args.messages, 1)),
        ("policy-10", lambda m: smtp(m, user, 10, args.messages, 1, policy=True)),
        ("virtual-10", lambda m: smtp(m, user, 10, args.messages, 1, virtual=True)),
        ("milter-10", lambda m: smtp(m, user, 10, args.messages, 1, milter=milter[1])),
        ("smtp-50", lambda m: smtp(m, user, 50, args.messages, 1)),
        ("tls-10", lambda m: smtp(m, user, 10, args.messages // 2, 1, tls=True)),
        ("rcpt10-10", lambda m: smtp(m, user, 10, args.messages // 10, 10)),
        ("sendmail-1", lambda m: run_sendmail(m, user, 1, args.injections)),
        ("sendmail-4", lambda m: run_sendmail(m, user, 4, args.injections)),
        ("relay-1", lambda m: run_relay(m, 1, args.messages)),
        ("relay-10", lambda m: run_relay(m, 10, args.messages)),
        ("relay-50", lambda m: run_relay(m, 50, args.messages)),
        ("backlog", lambda m: run_backlog(m, args.backlog)),
        ("idle", lambda m: run_idle(m, 2000)),
    ]
    if args.only:
        scenarios = [s for s in scenarios if s[0] in args.only.split(",")]
    milter = start_milter() if any(s[0] == "milter-10" for s in scenarios) else (None, None)
    results = {}
    failed = False
    for name, fn in scenarios:
        for rep in range(args.reps):
            for mta in mtas if rep % 2 == 0 else list(reversed(mtas)):
                r = fn(mta)
                print(f"{name} rep {rep} {mta.name}: " + ", ".join(
                    f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()), flush=True)
                failed |= not r["ok"]
                results.setdefault((name, mta.name), []).append(r)
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                            text=True).stdout.strip()
    fs = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "--target", "/var/spool"], stdout=subprocess.PIPE,
                        text=True).stdout.strip()
    if disk:
        fs = f"queues and Maildirs on {disk.name} (--disk {args.disk}; the disk is {fs})"
    header = (f"# kurir vs Postfix\n\n{time.strftime('%Y-%m-%d')}, commit {commit}, {os.cpu_count()} cores, {fs} "
              f"({fsync_rate('/var/spool')} fsyncs/s measured), {args.reps} repetitions A B A B; median (min-max); "
              "ratio = kurir / Postfix of the medians (lowest-highest ratio of one repetition's pair).\n")
    table = report.table(header, [name for name, _ in scenarios], results)
    print(table)
    if not args.only and not disk:
        with open(os.path.join(REPO, "bench", "RESULTS.md"), "w") as f:
            f.write(table)
    if milter[0]:
        milter[0].kill()
        milter[0].wait()
    if disk:
        disk.close()
    shutil.rmtree(TRASH, ignore_errors=True)
    list_config_dir(mtas[0].dir + "/i", listed=False)
    shutil.rmtree(mtas[0].dir, ignore_errors=True)  # the kurir instance, stopped after each run
    print(f"bench: {time.monotonic() - started:.0f} s")
    if failed:
        sys.exit("bench: a run lost or duplicated mail")


if __name__ == "__main__":
    main()
