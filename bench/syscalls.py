"""System calls of an MTA's process tree during a bench run (bench.py --syscalls).

The MTA's master and everything it starts are moved into a cgroup of their
own (cgroup v2), one child cgroup per daemon name, and `perf stat -a
--for-each-cgroup` counts raw_syscalls:sys_enter in each while the run
lasts: a cgroup counts its descendants, so the MTA's own cgroup is the whole
tree, whatever forks and exits in between. A thread moves processes into
their daemon's cgroup as they appear (every 50 ms): the first milliseconds
of a process started during the run (exec, loader, configuration) count for
the cgroup of its parent, usually master, until it is moved. Daemons not
named in DAEMONS stay in "other". The load generator is outside the tree and
not counted. The same cgroups give each daemon's CPU time over the run
(usage_usec of cgroup v2's cpu.stat, user and system), with the same
caveat for a process's first milliseconds.
"""
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time

DAEMONS = ("master", "smtpd", "cleanup", "qmgr", "local", "pickup", "trivial-rewrite")


def cgroup2_root():
    """Where the cgroup v2 hierarchy is mounted (hybrid systems: .../unified)."""
    for line in open("/proc/self/mounts"):
        fields = line.split()
        if fields[2] == "cgroup2":
            return fields[1]
    return None


def available():
    """Why --syscalls cannot run here, or None when it can."""
    if not shutil.which("perf"):
        return "perf is not installed (apt-get install linux-perf)"
    if not cgroup2_root():
        return "no cgroup v2 hierarchy is mounted"
    return None


def comm(pid):
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return None


class SyscallCount:
    """Counts the system calls of root_pid's tree between start() and stop()."""

    def __init__(self, name, root_pid, tree):
        self.root = cgroup2_root()
        self.base = f"kurir-bench-{name}"
        self.root_pid, self.tree = root_pid, tree
        self.groups = list(DAEMONS) + ["other"]
        for g in [""] + self.groups:
            os.makedirs(os.path.join(self.root, self.base, g), exist_ok=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sort, daemon=True)
        self.out = tempfile.NamedTemporaryFile(prefix="kurir-bench-perf-", suffix=".csv", delete=False).name
        self.perf = None

    def _move(self, pid):
        """Into its daemon's cgroup, when not there already: a move takes a
        lock that stops every fork on the machine, so never one too many."""
        group = comm(pid)
        group = group if group in DAEMONS else "other"
        want = f"0::/{self.base}/{group}"
        try:
            if want in open(f"/proc/{pid}/cgroup").read().splitlines():
                return
            with open(os.path.join(self.root, self.base, group, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        except OSError:
            pass  # gone already

    def _sort_once(self):
        for pid in self.tree(self.root_pid):
            self._move(pid)

    def _sort(self):
        while not self._stop.wait(0.05):
            self._sort_once()

    def start(self):
        """Returns once perf counts (it starts disabled and acknowledges the
        "enable" written to its control fifo)."""
        self._sort_once()
        cgroups = ",".join([self.base] + [f"{self.base}/{g}" for g in self.groups])
        fifos = tempfile.mkdtemp(prefix="kurir-bench-perf-")
        ctl, ack = os.path.join(fifos, "ctl"), os.path.join(fifos, "ack")
        os.mkfifo(ctl)
        os.mkfifo(ack)
        self.perf = subprocess.Popen(["perf", "stat", "-a", "-x,", "-o", self.out, "-e", "raw_syscalls:sys_enter",
                                      "--for-each-cgroup", cgroups, "-D", "-1", "--control", f"fifo:{ctl},{ack}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ctl_fd = os.open(ctl, os.O_RDWR)  # never blocks, whether perf has opened it yet or not
        ack_fd = os.open(ack, os.O_RDWR)
        os.write(ctl_fd, b"enable\n")
        ready, _, _ = select.select([ack_fd], [], [], 30)
        answer = os.read(ack_fd, 16) if ready else b""
        os.close(ctl_fd)
        os.close(ack_fd)
        shutil.rmtree(fifos)
        if not answer.startswith(b"ack"):
            self.perf.kill()
            raise RuntimeError("perf stat did not start counting")
        self._cpu0 = self._cpu_usec()
        self._thread.start()
        return self

    def _cpu_usec(self):
        """{"total": usec, daemon: usec, ...}: CPU time each cgroup's
        processes have used, the tree's own cgroup counting them all."""
        usec = {}
        for g in [""] + self.groups:
            for line in open(os.path.join(self.root, self.base, g, "cpu.stat")):
                name, value = line.split()
                if name == "usage_usec":
                    usec[g or "total"] = int(value)
        return usec

    def stop(self):
        """{"total": n, daemon: n, ..., "other": n}; self.cpu holds the CPU
        microseconds of each over the same time."""
        self._stop.set()
        self._thread.join()
        cpu1 = self._cpu_usec()
        self.cpu = {g: cpu1[g] - self._cpu0[g] for g in cpu1}
        self.perf.send_signal(signal.SIGINT)
        self.perf.wait()
        counts = {}
        for line in open(self.out):
            fields = line.strip().split(",")
            if len(fields) < 4 or fields[2] != "raw_syscalls:sys_enter" or not fields[0].isdigit():
                continue
            group = fields[3][len(self.base):].lstrip("/") or "total"
            counts[group] = int(fields[0])
        os.unlink(self.out)
        return counts

    def remove(self):
        """Moves what is left in our cgroups back to the root cgroup and removes them."""
        deadline = time.monotonic() + 10
        for g in self.groups + [""]:
            path = os.path.join(self.root, self.base, g)
            while os.path.isdir(path):
                try:
                    for pid in open(os.path.join(path, "cgroup.procs")).read().split():
                        with open(os.path.join(self.root, "cgroup.procs"), "w") as f:
                            f.write(pid)
                    os.rmdir(path)
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
