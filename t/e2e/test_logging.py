"""Where kurir logs (issue 14): syslog by default, maillog_file reopened on
reload and rotated by `kurir logrotate` without losing or repeating a line,
and what a daemon says before it can log (a broken main.cf at its start)
reaching the log instead of /dev/null. The syslog tests give kurir a
/dev/log of their own in a private mount namespace: this machine has none,
and the real /dev is never touched."""
import collections
import glob
import gzip
import os
import re
import shlex
import signal
import socket
import subprocess
import tempfile
import threading

import pytest

from instance import KURIR, wait_for
from test_smtpd_submission import fail2ban_matches

LINE = re.compile(r"^\S{3} [ \d]\d \d\d:\d\d:\d\d \S+ kurir/(\w+)\[(\d+)\]: ([0-9A-Za-z]{10,}): (.*)$")


def log_files(inst):
    """{name: text} of maillog and every rotated file (gzip read through)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(inst.dir, "log", "maillog*"))):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", errors="replace") as f:
            out[os.path.basename(path)] = f.read()
    return out


def lines_of(text, qid):
    return [l for l in text.splitlines() if f": {qid}: " in l]


def queue_ids(text):
    return {m.group(3) for m in map(LINE.match, text.splitlines()) if m and m.group(1) == "smtpd"
            and m.group(4).startswith("client=")}


def send_one(inst, n):
    with inst.smtp() as s:
        s.sendmail("sender@client.test", ["u@mx.test"], f"Subject: m{n}\n\nbody {n}\n")


# -- maillog_file: reload and logrotate ----------------------------------------

def test_reload_reopens_a_maillog_file_renamed_away(make_instance):
    inst = make_instance().start()
    send_one(inst, 1)
    inst.wait_delivered("u", 1)
    wait_for(lambda: "removed" in inst.log(), what="message 1 logged")
    log = os.path.join(inst.dir, "log", "maillog")
    old = log + ".1"
    os.rename(log, old)  # what logrotate(8) does before its postrotate "kurir reload"
    inst.kurir("reload")
    wait_for(lambda: os.path.exists(log) and "reload -- version" in open(log).read(), what="master's reload line")
    send_one(inst, 2)
    inst.wait_delivered("u", 2)
    wait_for(lambda: len(queue_ids(open(log).read())) == 1 and "removed" in open(log).read(),
             what="message 2 logged in the new file")
    new_text, old_text = open(log).read(), open(old).read()
    (qid,) = queue_ids(new_text)
    assert len(lines_of(new_text, qid)) == 5, new_text  # smtpd, cleanup, qmgr, local, qmgr removed
    assert lines_of(old_text, qid) == [], old_text
    assert "reload -- version" not in old_text


def assert_logged_whole_in_the_new_file(inst, log, n):
    """Message n, sent now, is the first with lines in log, and all five of
    them are there: smtpd, cleanup, qmgr, local, qmgr's removed."""
    send_one(inst, n)
    inst.wait_delivered("u", n)
    wait_for(lambda: len(queue_ids(open(log).read())) == 1 and "removed" in open(log).read(),
             what=f"message {n} logged in the new file")
    (qid,) = queue_ids(open(log).read())
    assert len(lines_of(open(log).read(), qid)) == 5, open(log).read()


def test_a_daemon_started_after_a_rename_leaves_the_new_file_to_master(make_instance):
    """local keeps root: one that starts between logrotate's rename and
    master's reopen must not create maillog_file. The file would be root's,
    the daemons without root could not reopen it at the reload and would
    write on into the renamed file, which kurir logrotate then waits to see
    closed. Until master has made the file, its lines go through master."""
    inst = make_instance().start()
    send_one(inst, 1)
    inst.wait_delivered("u", 1)
    log = os.path.join(inst.dir, "log", "maillog")
    old = log + ".1"
    owner = os.stat(log).st_uid
    wait_for(lambda: "removed" in open(log).read(), what="message 1 logged")
    for pid in inst.pids("local"):
        os.kill(pid, signal.SIGKILL)  # the next delivery starts a new local
    wait_for(lambda: not inst.pids("local"), what="local gone")
    os.rename(log, old)  # and master is not told yet
    send_one(inst, 2)
    inst.wait_delivered("u", 2)
    wait_for(lambda: len([l for l in open(old).read().splitlines() if "status=sent" in l]) == 2,
             what="the new local's delivery logged, through master into the file it has open")
    assert not os.path.exists(log), "a daemon made maillog_file"
    inst.kurir("reload")
    wait_for(lambda: os.path.exists(log) and "reload -- version" in open(log).read(), what="master's reload line")
    assert os.stat(log).st_uid == owner
    assert_logged_whole_in_the_new_file(inst, log, 3)


def test_reload_gives_a_file_another_root_program_made_the_old_owner(make_instance):
    """Between a rename and master's reopen, a program run by root that
    logs (kurir-super -r, say) makes maillog_file root's, with lines in it.
    master gives it the renamed file's owner at the reload, so that the
    daemons without root reopen it too, instead of writing on into the
    renamed file."""
    inst = make_instance()
    if inst.mode != "root":
        pytest.skip("only a privilege-separated instance has daemons without root")
    inst.start()
    send_one(inst, 1)
    inst.wait_delivered("u", 1)
    log = os.path.join(inst.dir, "log", "maillog")
    wait_for(lambda: "removed" in open(log).read(), what="message 1 logged")
    was = os.stat(log)
    os.rename(log, log + ".1")
    with open(log, "w") as f:
        f.write("Dec  7 00:00:00 host kurir/kurir-super[1]: a line of its own\n")
    inst.kurir("reload")
    wait_for(lambda: "reload -- version" in open(log).read(), what="master's reload line")
    now = os.stat(log)
    assert (now.st_uid, now.st_gid) == (was.st_uid, was.st_gid)
    assert_logged_whole_in_the_new_file(inst, log, 2)


def test_logrotate_under_load_loses_and_repeats_no_line(make_instance):
    inst = make_instance().start()
    stop = threading.Event()
    sent = []
    errors = []

    def client(k):
        n = 0
        try:
            with inst.smtp() as s:
                while not stop.is_set():
                    s.sendmail("sender@client.test", ["u@mx.test"], f"Subject: {k}-{n}\n\nbody\n")
                    sent.append((k, n))
                    n += 1
        except Exception as e:  # noqa: BLE001 - raised below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    rotated = []
    try:
        for _ in range(3):
            before = len(sent)
            wait_for(lambda: len(sent) >= before + 5, what="mail flowing between rotations")

            def rotate():
                # Two rotations in one second would want the same name:
                # kurir logrotate refuses to overwrite (exit 73), so again.
                res = inst.kurir("logrotate", check=False)
                assert res.returncode in (0, 73), res.stderr
                return res.returncode == 0 and res
            res = wait_for(rotate, timeout=30, what="kurir logrotate")
            rotated.append(res.stdout.split(" to ")[-1].strip())
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    inst.wait_delivered("u", len(sent))
    inst.wait_queue_empty()
    names = {os.path.basename(p) + ".gz" for p in rotated}
    wait_for(lambda: names <= set(log_files(inst)), what="every rotated file compressed")

    def complete():
        files = log_files(inst)
        every = "\n".join(files.values())
        qids = queue_ids(every)
        return len(qids) == len(sent) and all(len(lines_of(every, q)) >= 5 for q in qids) and files
    files = wait_for(complete, what="the last lines of the last messages")
    assert set(files) == names | {"maillog"}, sorted(files)  # the old ones compressed, none left behind
    every = "\n".join(files.values())
    for qid in queue_ids(every):
        found = lines_of(every, qid)
        kinds = sorted(re.sub(r".* kurir/(\w+)\[\d+\]: \w+: (\w+)[=:]?.*", r"\1 \2", l) for l in found)
        # A qmgr that a rotation (a reload) retired between "from=" and the
        # delivery leaves the message to its successor, which says "from="
        # again, as Postfix's qmgr does after a reload: another line, not a
        # repeated one.
        kinds = [k for i, k in enumerate(kinds) if k != "qmgr from" or "qmgr from" not in kinds[:i]]
        assert kinds == ["cleanup message", "local to", "qmgr from", "qmgr removed", "smtpd client"], "\n".join(found)
    # No line of a message written twice (each carries its pid and time):
    # nothing was both in a rotated file and in the next one.
    all_lines = [l for text in files.values() for l in text.splitlines() if LINE.match(l)]
    twice = [l for l, n in collections.Counter(all_lines).items() if n > 1]
    assert not twice, twice
    # Lines went into more than one file: the rotations happened under load.
    assert sum(1 for text in files.values() if queue_ids(text)) >= 2


def test_logrotate_without_maillog_file_says_so(make_instance):
    inst = make_instance(maillog_file="")
    res = inst.kurir("logrotate", check=False)
    assert res.returncode == 78 and "maillog_file is not set" in res.stderr, res.stderr


# -- what a daemon says before it can log ----------------------------------------

def test_a_daemon_that_dies_on_a_broken_main_cf_says_why_in_the_log(make_instance):
    inst = make_instance().start()
    # main.cf broken after start: the next smtpd cannot read it, so it does
    # not know maillog_file yet when it says why it stops.
    inst.set(max_use="lots")
    try:
        with inst.smtp(timeout=10) as s:
            s.noop()
    except (OSError, EOFError, Exception):  # noqa: BLE001 - smtpd is gone, as it should be
        pass
    line = wait_for(lambda: re.search(r"kurir/smtpd\[(\d+)\]: fatal: .*max_use.*lots.*", inst.log()),
                    what="smtpd's fatal line in maillog")
    pid = line.group(1)
    # master's own account of the same death follows it.
    wait_for(lambda: re.search(rf"kurir/master\[\d+\]: warning: process \S+/smtpd pid {pid} exit status 1",
                               inst.log()), what="master's exit status line")


# -- syslog ------------------------------------------------------------------------

class SyslogServer:
    """A datagram socket, /dev/log for a kurir started in a private mount
    namespace (start_in_namespace), collecting every datagram."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="kurir-syslog-")
        os.chmod(self.tmp, 0o755)
        self.path = os.path.join(self.tmp, "log")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)  # an unprivileged kurir writes to it too, as to /dev/log
        self.sock.settimeout(0.2)
        self.lines = []
        self.stop = False
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                self.lines.append(self.sock.recv(65536).decode(errors="replace"))
            except socket.timeout:
                pass

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.tmp)


def start_in_namespace(inst, dev_log):
    """`kurir start` in a mount namespace of its own whose /dev is a tmpfs
    with the usual nodes and dev_log bound at /dev/log. master and its
    children stay in it; the test talks to them over loopback as always."""
    nodes = "null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0"
    script = f"""set -e
mount -t tmpfs -o mode=0755,nosuid tmpfs /dev
for n in {nodes}; do
  IFS=: read name major minor <<EOF
$n
EOF
  mknod -m 666 /dev/$name c $major $minor
done
ln -s /proc/self/fd /dev/fd
mkdir /dev/pts /dev/shm
touch /dev/log
mount --bind {shlex.quote(dev_log)} /dev/log
exec {' '.join(map(shlex.quote, inst._prefix() + [KURIR, '-c', inst.dir, 'start']))}
"""
    res = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=90)
    assert res.returncode == 0, res.stderr
    inst.started = True
    return inst


WIRE = re.compile(r"^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) kurir/([\w-]+)\[(\d+)\]: (.*)$")


@pytest.mark.skipif(os.geteuid() != 0, reason="a private mount namespace with its own /dev/log needs root")
def test_without_maillog_file_every_program_logs_to_syslog(make_instance, tmp_path):
    server = SyslogServer()
    try:
        inst = start_in_namespace(make_instance(maillog_file="", mynetworks="192.0.2.0/24"), server.path)
        with inst.smtp() as s:
            s.ehlo("client.test")
            s.mail("someone@client.test")
            assert s.rcpt("friend@far.example")[0] == 554
            s.rset()
        send_one(inst, 1)
        inst.wait_delivered("u", 1)
        inst.wait_queue_empty()
        wait_for(lambda: any(": removed" in l for l in server.lines), what="qmgr's removed line in syslog")
        lines = list(server.lines)
        parsed = [WIRE.match(l) for l in lines]
        assert all(parsed), [l for l, m in zip(lines, parsed) if not m]
        for m in parsed:
            severity = int(m.group(1)) & 7
            assert int(m.group(1)) >> 3 == 2, m.group(0)  # facility mail (syslog_facility's default)
            assert severity == (4 if m.group(5).startswith("warning: ") else 6), m.group(0)
        master_pid = open(os.path.join(inst.dir, "queue", "pid", "master.pid")).read().strip()
        assert any(m.group(3) == "master" and m.group(4) == master_pid and "daemon started" in m.group(5)
                   for m in parsed), lines
        qmgr_pids = {str(p) for p in inst.pids("qmgr")}
        (qid,) = {m.group(5).split(":")[0] for m in parsed if m.group(3) == "smtpd" and ": client=" in m.group(5)}
        of_qid = {(m.group(3), re.match(r"[\w-]+", m.group(5)[len(qid) + 2:]).group(0)): m.group(4)
                  for m in parsed if m.group(5).startswith(qid + ": ")}
        assert set(of_qid) == {("smtpd", "client"), ("cleanup", "message-id"), ("qmgr", "from"),
                               ("local", "to"), ("qmgr", "removed")}, lines
        assert of_qid[("qmgr", "from")] in qmgr_pids
        assert not inst.log()  # nothing in the maillog_file that init made
        # What a syslog daemon writes of it is what fail2ban's stock postfix
        # filter reads: the refused relaying is one match.
        as_written = tmp_path / "syslog"
        as_written.write_text("".join(f"{m.group(2)} mx kurir/{m.group(3)}[{m.group(4)}]: {m.group(5)}\n"
                                      for m in parsed))
        matched, out = fail2ban_matches(str(as_written), "normal")
        assert matched == 1, out
    finally:
        server.close()
