"""local(8) against hostile or careless aliases, .forward and :include:
files, commands and mailboxes (issue 16): loops and fan-out end in one copy
per destination and a 5.4.6 bounce, a command that hangs ends at
command_time_limit with its process group, a FIFO or foreign file in a
mailbox's place defers at once, root's .forward runs nothing as root."""
import contextlib
import fcntl
import os
import pwd
import re
import subprocess

import pytest

from instance import wait_for


def list_file(inst, name, text):
    """A :include: file default_privs may read and nobody else may write."""
    path = os.path.join(inst.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def start_with_aliases(inst, text):
    inst.write_aliases(text)
    res = inst.newaliases()
    assert res.returncode == 0, res.stderr
    inst.start()


def bounced(inst, rcpt, reason):
    pattern = re.compile(rf"to=<{re.escape(rcpt)}>.*dsn=(5\.\d+\.\d+), status=bounced \((.*)\)")
    found = wait_for(lambda: pattern.search(inst.log()), 30, f"{rcpt} bounced")
    assert reason in found.group(2), found.group(0)
    return found.group(1)


def alive(pid):
    """Running, not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def test_self_including_file_bounces_as_a_loop_after_one_copy(make_instance):
    inst = make_instance()
    inc = os.path.join(inst.tmp, "self.list")
    list_file(inst, "self.list", f"amy\n:include:{inc}\n")
    start_with_aliases(inst, f"selfinc: :include:{inc}\n")
    inst.send("s@client.test", ["selfinc@mx.test"], "Subject: self\r\n\r\nx\r\n")
    assert bounced(inst, "selfinc@mx.test", "mail forwarding loop for selfinc@mx.test") == "5.4.6"
    inst.wait_delivered("amy", 1)
    inst.wait_queue_empty()
    assert len(inst.maildir_files("amy")) == 1
    assert "killed by signal" not in inst.log()


def test_includes_named_twice_at_every_level_deliver_one_copy(make_instance):
    # level0 names level1 twice, level1 names level2 twice, ...: 2**5 copies
    # for amy when nothing remembers what was expanded.
    inst = make_instance()
    last = list_file(inst, "level5.list", "amy\n")
    for n in range(4, -1, -1):
        last = list_file(inst, f"level{n}.list", f":include:{last}, :include:{last}\n")
    start_with_aliases(inst, f"wide: :include:{last}, amy, \\amy\nalsoamy: amy, wide\n")
    inst.send("s@client.test", ["alsoamy@mx.test"], "Subject: wide\r\n\r\nx\r\n")
    wait_for(lambda: re.search(r"to=<alsoamy@mx.test>.*status=sent", inst.log()), 30, "the expansion delivered")
    inst.wait_queue_empty()
    assert len(inst.maildir_files("amy")) == 1


class FileOpens:
    """Counts the opens of one file (inotify IN_OPEN), whoever opens it."""

    def __init__(self, path):
        import ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK)
        assert self.fd >= 0
        assert self.libc.inotify_add_watch(self.fd, path.encode(), 0x20) >= 0  # IN_OPEN

    def count(self):
        n = 0
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return n
            n += len(data) // 16  # struct inotify_event without a name (the watch is on the file)

    def close(self):
        os.close(self.fd)


def test_a_list_named_many_times_is_read_once(make_instance):
    """Found by review: every reference to a :include: file read and parsed
    it (up to 1 MB) before finding it was expanded already; a list naming
    one large file thousands of times cost minutes of local's time."""
    inst = make_instance()
    big = list_file(inst, "big.list", "amy\n" + "# " + "x" * 200_000 + "\n")
    many = list_file(inst, "many.list", "".join(f":include:{big}\n" for _ in range(2000)))
    start_with_aliases(inst, f"fans: :include:{many}\n")
    opens = FileOpens(big)
    try:
        inst.send("s@client.test", ["fans@mx.test"], "Subject: fans\r\n\r\nx\r\n")
        wait_for(lambda: re.search(r"to=<fans@mx.test>.*status=sent", inst.log()), 60, "the expansion delivered")
        assert opens.count() == 1
    finally:
        opens.close()
    assert len(inst.maildir_files("amy")) == 1


def test_an_alias_expanding_without_end_bounces(make_instance):
    # chain0 -> chain1 -> ... -> chain29: more levels than local follows.
    inst = make_instance()
    chain = "".join(f"chain{n}: chain{n + 1}\n" for n in range(29)) + "chain29: amy\n"
    start_with_aliases(inst, chain)
    inst.send("s@client.test", ["chain0@mx.test"], "Subject: chain\r\n\r\nx\r\n")
    assert bounced(inst, "chain0@mx.test", "alias expansion too deep") == "5.4.6"
    inst.wait_queue_empty()
    assert inst.maildir_files("amy") == []


@contextlib.contextmanager
def system_accounts(*specs):
    """Accounts for .forward tests: (name, home, extra useradd options),
    made for the test and removed after it, under a lock (tests run in
    parallel)."""
    lock = open("/tmp/.kurir-e2e-accounts.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    made = []
    try:
        for name, home, extra in specs:
            subprocess.run(["userdel", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", home, "--shell",
                            "/usr/sbin/nologin", *extra, name], check=True)
            made.append(name)
        yield [pwd.getpwnam(name) for name, _, _ in specs]
    finally:
        for name in made:
            subprocess.run(["userdel", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lock.close()


def dot_forward(acct, text):
    os.makedirs(acct.pw_dir, exist_ok=True)
    os.chown(acct.pw_dir, acct.pw_uid, acct.pw_gid)
    path = os.path.join(acct.pw_dir, ".forward")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    os.chown(path, acct.pw_uid, acct.pw_gid)


def test_two_dot_forwards_naming_each_other(make_instance):
    inst = make_instance()
    if inst.mode != "root":
        pytest.skip("a .forward needs a system account with a home")
    homes = [os.path.join(inst.tmp, "home-a"), os.path.join(inst.tmp, "home-b")]
    with system_accounts(("kurirfwa", homes[0], []), ("kurirfwb", homes[1], [])) as (a, b):
        dot_forward(a, "\\kurirfwa, kurirfwb\n")
        dot_forward(b, "\\kurirfwb\nkurirfwa\n")
        inst.start()
        inst.send("s@client.test", ["kurirfwa@mx.test"], "Subject: pingpong\r\n\r\nx\r\n")
        assert bounced(inst, "kurirfwa@mx.test", "mail forwarding loop for kurirfwa@mx.test") == "5.4.6"
        inst.wait_queue_empty()
        assert len(inst.maildir_files("kurirfwa")) == 1
        assert len(inst.maildir_files("kurirfwb")) == 1


def test_commands_and_files_in_roots_dot_forward_run_as_default_privs(make_instance):
    inst = make_instance()
    if inst.mode != "root":
        pytest.skip("root's .forward matters only where local runs as root")
    out = inst.shared_dir("out")
    home = os.path.join(inst.tmp, "home-toor")
    # A second name for uid 0 with its home in the test's directory, so that
    # the system's own root account is not touched.
    with system_accounts(("kurirtoor", home, ["--non-unique", "--uid", "0", "--gid", "0"])) as (toor,):
        assert toor.pw_uid == 0
        dot_forward(toor, f'"|id -u > {out}/cmd.uid"\n{out}/file.mbox\n')
        inst.start()
        inst.send("s@client.test", ["kurirtoor@mx.test"], "Subject: root\r\n\r\nfor root\r\n")
        wait_for(lambda: re.search(r"to=<kurirtoor@mx.test>.*status=(sent|bounced|deferred)", inst.log()), 30,
                 "root's .forward delivered")
        assert re.search(r"to=<kurirtoor@mx.test>.*status=sent", inst.log()), inst.log()
    privs = inst.default_privs_uid()
    with open(os.path.join(out, "cmd.uid")) as f:
        assert int(f.read()) == privs
    assert os.stat(os.path.join(out, "file.mbox")).st_uid == privs
    assert b"for root" in open(os.path.join(out, "file.mbox"), "rb").read()


def test_a_command_that_closes_its_output_and_sleeps_ends_at_the_time_limit(make_instance):
    inst = make_instance(command_time_limit="2s")
    out = inst.shared_dir("out")
    start_with_aliases(inst, f'hang: "|exec >&- 2>&-; echo $$ > {out}/pid; exec sleep 1000"\n')
    pid = None
    try:
        inst.send("s@client.test", ["hang@mx.test"], "Subject: hang\r\n\r\nx\r\n")
        pid = int(wait_for(lambda: open(os.path.join(out, "pid")).read().strip()
                           if os.path.exists(os.path.join(out, "pid")) else None, 30, "the command started"))
        assert bounced(inst, "hang@mx.test", "Command time limit exceeded") == "5.3.0"
        wait_for(lambda: not alive(pid), 10, "the command killed")
        # local is free again.
        inst.send("s@client.test", ["amy@mx.test"], "Subject: after\r\n\r\nx\r\n")
        inst.wait_delivered("amy", 1)
    finally:
        if pid is not None and alive(pid):
            os.kill(pid, 9)  # what the test started, if local did not end it


def test_a_fifo_as_mailbox_or_file_defers_without_hanging_local(make_instance):
    inst = make_instance(default_destination_concurrency_limit="1")
    spool = inst.shared_dir("spool")
    out = inst.shared_dir("out")
    for fifo in (os.path.join(spool, "ivan"), os.path.join(out, "fifo")):
        os.mkfifo(fifo)
        os.chmod(fifo, 0o666)  # anyone may open it: only its type stops local
    inst.set(mail_spool_directory=spool)
    start_with_aliases(inst, f"tofifo: {out}/fifo\n")
    inst.send("s@client.test", ["ivan@mx.test"], "Subject: fifo\r\n\r\nx\r\n")
    inst.send("s@client.test", ["tofifo@mx.test"], "Subject: fifo file\r\n\r\nx\r\n")
    for rcpt, path in (("ivan@mx.test", f"{spool}/ivan"), ("tofifo@mx.test", f"{out}/fifo")):
        wait_for(lambda: re.search(rf"to=<{rcpt}>.*status=deferred \(mailbox {path} is not a regular file\)",
                                   inst.log()), 30, f"{rcpt} deferred")
    # local still delivers.
    inst.send("s@client.test", ["judy@mx.test"], "Subject: after\r\n\r\nx\r\n")
    wait_for(lambda: os.path.exists(os.path.join(spool, "judy")) and os.path.getsize(os.path.join(spool, "judy")),
             30, "judy's mailbox")


def test_a_mailbox_with_two_links_or_another_owner_defers_untouched(make_instance):
    inst = make_instance()
    spool = inst.shared_dir("spool")
    other = os.path.join(inst.tmp, "other")
    with open(other, "w"):
        pass
    os.chmod(other, 0o666)
    os.link(other, os.path.join(spool, "kate"))
    foreign = os.path.join(spool, "liam")
    with open(foreign, "w"):
        pass
    os.chmod(foreign, 0o666)
    os.chown(foreign, 12345, 12345)
    inst.set(mail_spool_directory=spool)
    inst.start()
    inst.send("s@client.test", ["kate@mx.test", "liam@mx.test"], "Subject: links\r\n\r\nx\r\n")
    wait_for(lambda: re.search(r"to=<kate@mx.test>.*status=deferred \(mailbox .* with one link\)", inst.log()),
             30, "kate deferred")
    wait_for(lambda: re.search(r"to=<liam@mx.test>.*status=deferred \(mailbox .* is not owned by the recipient",
                               inst.log()), 30, "liam deferred")
    assert os.path.getsize(other) == 0 and os.path.getsize(foreign) == 0


def test_a_spool_maildir_that_is_a_link_or_another_users_defers_untouched(make_instance):
    """Found by review: local took an existing maildir in the spool as it
    found it, so whoever may write in the spool could put a link, or a
    directory of their own, at a user's name and get or plant that user's
    mail. Now it must be a directory the recipient owns, and it is written
    through the descriptor it was checked on."""
    inst = make_instance()
    if inst.mode != "root":
        pytest.skip("local makes and checks spool mailboxes only as root")
    spool = inst.shared_dir("spool")
    elsewhere = os.path.join(inst.tmp, "elsewhere")
    for sub in ("", "new", "cur", "tmp"):
        os.mkdir(os.path.join(elsewhere, sub))
        os.chmod(os.path.join(elsewhere, sub), 0o777)
    os.symlink(elsewhere, os.path.join(spool, "nina"))
    foreign = os.path.join(spool, "oscar")
    for sub in ("", "new", "cur", "tmp"):
        os.mkdir(os.path.join(foreign, sub))
        os.chmod(os.path.join(foreign, sub), 0o777)
        os.chown(os.path.join(foreign, sub), 12345, 12345)
    inst.set(mail_spool_directory=spool + "/")
    inst.start()
    inst.send("s@client.test", ["nina@mx.test", "oscar@mx.test", "pia@mx.test"], "Subject: planted\r\n\r\nx\r\n")
    wait_for(lambda: re.search(rf"to=<nina@mx.test>.*status=deferred \(maildir {spool}/nina is a symbolic link\)",
                               inst.log()), 30, "nina deferred")
    wait_for(lambda: re.search(rf"to=<oscar@mx.test>.*status=deferred \(maildir {spool}/oscar is not owned by "
                               r"the recipient \(uid 12345\)\)", inst.log()), 30, "oscar deferred")
    pia_new = os.path.join(spool, "pia", "new")
    wait_for(lambda: os.path.isdir(pia_new) and len(os.listdir(pia_new)) == 1, 30, "pia's maildir")
    assert os.stat(os.path.join(spool, "pia")).st_uid == inst.default_privs_uid()
    assert os.listdir(os.path.join(elsewhere, "new")) == [] and os.listdir(os.path.join(foreign, "new")) == []


def test_a_mailbox_locked_by_a_reader_defers_without_holding_local(make_instance):
    """Found by review: local waited for the mailbox's fcntl lock without an
    end, so a reader holding it (a mail client, or twenty messages to a
    mailbox its owner keeps locked) held every local process. Now the wait
    ends after deliver_lock_attempts tries deliver_lock_delay apart (20 s by
    default, as Postfix's; 2 s here), and the delivery defers."""
    inst = make_instance(deliver_lock_attempts="3", deliver_lock_delay="1s")
    spool = inst.shared_dir("spool")
    inst.set(mail_spool_directory=spool)
    inst.start()
    inst.send("s@client.test", ["mona@mx.test"], "Subject: first\r\n\r\nx\r\n")
    mbox = os.path.join(spool, "mona")
    wait_for(lambda: os.path.exists(mbox) and b"Subject: first" in open(mbox, "rb").read(), 30, "the first delivery")
    with open(mbox, "rb") as held:
        fcntl.lockf(held, fcntl.LOCK_SH)
        inst.send("s@client.test", ["mona@mx.test"], "Subject: second\r\n\r\nx\r\n")
        wait_for(lambda: re.search(r"to=<mona@mx.test>.*status=deferred \(cannot update mailbox .*: unable to lock "
                                   r"for exclusive access", inst.log()), 60, "the locked mailbox deferred")
    assert b"Subject: second" not in open(mbox, "rb").read()


def test_qmgr_defers_a_delivery_the_agent_never_answers(make_instance):
    # local stays inside command_time_limit (1000s); daemon_timeout is the
    # deadline qmgr gives each request.
    inst = make_instance(daemon_timeout="2s", command_time_limit="1000s")
    out = inst.shared_dir("out")
    start_with_aliases(inst, f'slow: "|echo $$ >> {out}/pids; exec sleep 1000"\n')
    pid_file = os.path.join(out, "pids")
    try:
        inst.send("s@client.test", ["slow@mx.test"], "Subject: slow\r\n\r\nx\r\n")
        wait_for(lambda: re.search(r"to=<slow@mx.test>.*status=deferred \(delivery agent timed out\)", inst.log()),
                 30, "qmgr deferred the recipient")
    finally:
        inst.stop()  # no more retries
        inst.kill_all()
        if os.path.exists(pid_file):
            for pid in open(pid_file).read().split():
                if alive(int(pid)):
                    os.kill(int(pid), 9)  # the commands the test started, still waited for by local


def test_a_default_privs_that_is_mail_owner_or_root_is_refused_at_start(make_instance):
    """Postfix's check_overlap: what an alias command runs as must not own
    the queue, nor be root."""
    inst = make_instance()
    if inst.mode != "root":
        pytest.skip("one user runs everything in a user instance")
    with open(os.path.join(inst.dir, "main.cf")) as f:
        assert "default_privs = kurirnobody\n" in f.read()
    main_cf = os.path.join(inst.dir, "main.cf")
    for privs, says in (("kurir", "parameters default_privs and mail_owner specify the same user kurir"),
                        ("root", "parameter default_privs: user root has privileged user ID")):
        inst.set(default_privs=privs)
        for command in ("check", "start"):
            res = inst.kurir(command, check=False)
            assert res.returncode != 0
            assert f"file {main_cf}: {says}" in res.stderr, res.stderr
        assert inst.kurir("status", check=False).returncode != 0
    inst.set(default_privs="kurirnobody")
    inst.start()


def test_kurir_start_creates_a_missing_default_privs_account(make_instance):
    """An instance made on one machine and copied to another may name a
    default_privs account that is not there; kurir start makes it, as it
    makes mail_owner, and names without an account are written as it."""
    inst = make_instance()
    if inst.mode != "root":
        pytest.skip("accounts are made only by root")
    name = "kurirprivstest"
    lock = open("/tmp/.kurir-e2e-accounts.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        subprocess.run(["userdel", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["groupdel", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with pytest.raises(KeyError):
            pwd.getpwnam(name)
        spool = inst.shared_dir("spool")
        inst.set(default_privs=name, mail_spool_directory=spool)
        inst.start()
        made = pwd.getpwnam(name)
        assert made.pw_uid != 0 and made.pw_shell == "/usr/sbin/nologin"
        inst.send("s@client.test", ["quinn@mx.test"], "Subject: privs\r\n\r\nx\r\n")
        mbox = os.path.join(spool, "quinn")
        wait_for(lambda: os.path.exists(mbox) and os.path.getsize(mbox) > 0, 30, "quinn's mailbox")
        assert os.stat(mbox).st_uid == made.pw_uid
    finally:
        inst.stop()
        subprocess.run(["userdel", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["groupdel", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lock.close()


def created_names(fd):
    """The names of the inotify IN_CREATE events read so far from fd."""
    import struct
    names = []
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return names
        at = 0
        while at + 16 <= len(data):
            _, mask, _, size = struct.unpack_from("iIII", data, at)
            names.append(data[at + 16:at + 16 + size].rstrip(b"\0").decode())
            at += 16 + size


def test_an_mbox_in_the_spool_is_dot_locked_with_roots_rights(make_instance):
    """Found by review: in a root instance the spool (DIR/mail) is
    mail_owner's, and local writes the mailbox of a name without an account
    as default_privs, which may not make USER.lock there: delivery went on
    under fcntl alone, so a reader that dot-locks only could read a
    half-written message. local now makes the dot-lock with root's rights,
    as Postfix's local does, and writes the mailbox as the user."""
    inst = make_instance()
    if inst.mode != "root":
        pytest.skip("one user owns the spool and writes every mailbox in a user instance")
    spool = os.path.join(inst.dir, "mail")
    inst.set(mail_spool_directory=spool)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK)
    assert fd >= 0
    try:
        assert libc.inotify_add_watch(fd, spool.encode(), 0x100) >= 0  # IN_CREATE
        inst.start()
        inst.send("s@client.test", ["ivan@mx.test"], "Subject: locked\r\n\r\nx\r\n")
        mbox = os.path.join(spool, "ivan")
        wait_for(lambda: re.search(r"to=<ivan@mx.test>.*status=sent \(delivered to mailbox\)", inst.log()), 30,
                 "the delivery")
        assert b"Subject: locked" in open(mbox, "rb").read()
        assert "ivan.lock" in created_names(fd)
        assert not os.path.exists(mbox + ".lock")  # and removed
        assert os.stat(mbox).st_uid == inst.default_privs_uid()
    finally:
        os.close(fd)
