"""kurir-queue, mailq, kurir-super and kurir-cat against a running instance."""
import json
import os
import random
import signal
import subprocess
import threading
import time

from instance import PREFIX, wait_for
from peers import SmtpReceiver
from smtp_raw import RawSMTP

SBIN = os.path.join(PREFIX, "sbin")


def tool(inst, name, *args, user=False, input=None):
    prefix = inst.submitter() if user else []
    return subprocess.run(prefix + [os.path.join(SBIN, name), "-c", inst.dir, *args], input=input,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def held_instance(make_instance):
    """An instance whose mail to far@remote.test stays deferred (its relayhost refuses connections)."""
    inst = make_instance(relayhost="[127.0.0.1]:9").start()
    return inst


def test_empty_queue(make_instance):
    inst = make_instance().start()
    res = tool(inst, "kurir-queue", "-p", user=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "Mail queue is empty\n"
    assert tool(inst, "kurir-queue", "-j").stdout == ""


def test_listing_markers_reasons_and_json(make_instance):
    inst = held_instance(make_instance)
    for i in range(3):
        assert inst.sendmail("far@remote.test", input=f"Subject: q{i}\n\nbody {i}\n".encode()).returncode == 0
    wait_for(lambda: len(inst.queue_files("deferred")) == 3, 30, "three deferred messages")
    ids = sorted(os.listdir(os.path.join(inst.dir, "queue", "deferred")))
    assert tool(inst, "kurir-super", "-h", ids[0]).returncode == 0
    res = tool(inst, "kurir-queue", "-p", user=True)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    lines = out.splitlines()
    assert lines[0] == "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------"
    assert f"{ids[0]}!" in out
    assert "(connect to 127.0.0.1[127.0.0.1]:9: Connection refused)" in out
    assert lines[-1] == "-- 1 Kbytes in 3 Requests."
    assert out.count("far@remote.test") == 3
    entries = [json.loads(l) for l in tool(inst, "kurir-queue", "-j", user=True).stdout.splitlines()]
    assert sorted(e["queue_id"] for e in entries) == ids
    held = [e for e in entries if e["queue_id"] == ids[0]][0]
    assert held["queue_name"] == "hold"
    other = [e for e in entries if e["queue_id"] == ids[1]][0]
    assert other["queue_name"] == "deferred"
    assert other["recipients"][0]["address"] == "far@remote.test"
    assert "Connection refused" in other["recipients"][0]["delay_reason"]
    assert isinstance(other["arrival_time"], int) and other["message_size"] > 0
    # mailq is the same listing.
    mailq = subprocess.run(inst.submitter() + [os.path.join(PREFIX, "bin", "mailq"), "-C", inst.dir],
                           stdout=subprocess.PIPE, text=True)
    assert mailq.stdout == tool(inst, "kurir-queue", "-p").stdout


def test_listing_carries_any_bytes_in_addresses_and_reasons(make_instance):
    """Sender, recipient and defer reason with } " \\ and UTF-8: -p and -j
    show them exactly (a } once cut a recipient short in -p and -j)."""
    reason = '450 4.2.0 busy }"\\ \u00e9t\u00e9 {x}'
    with SmtpReceiver(smtputf8=True, rcpt_reply=lambda a: reason) as mx:
        inst = make_instance(relayhost=f"[127.0.0.1]:{mx.port}").start()
        sender = '"we}i\\"rd\\\\\u00e9"@client.test'
        rcpt = '"a}b\\"c\\\\\u00fc"@remote.test'
        with RawSMTP(inst.port) as c:
            assert c.reply()[0] == 220
            assert c.cmd("EHLO client.test")[0] == 250
            assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
            assert c.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
            assert c.cmd("DATA")[0] == 354
            c.send(b"Subject: odd\r\n\r\nbody\r\n.\r\n")
            assert c.reply()[0] == 250
        wait_for(lambda: inst.queue_files("deferred"), 30, "the deferred message")
    said = f"host 127.0.0.1[127.0.0.1] said: {reason} (in reply to RCPT TO command)"
    res = tool(inst, "kurir-queue", "-p", user=True)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[1].endswith(" " + sender)
    assert lines[2] == f"        ({said})"
    assert lines[3].strip() == rcpt
    assert lines[-1] == "-- 1 Kbytes in 1 Request."
    res = tool(inst, "kurir-queue", "-j", user=True)
    assert res.returncode == 0, res.stderr
    [entry] = [json.loads(line) for line in res.stdout.splitlines()]
    assert entry["sender"] == 'we}i"rd\\\u00e9@client.test'
    assert entry["recipients"] == [{"address": 'a}b"c\\\u00fc@remote.test', "delay_reason": said}]


def test_super_hold_release_requeue_delete_while_running(make_instance):
    inst = held_instance(make_instance)
    for i in range(4):
        inst.sendmail("far@remote.test", input=f"Subject: s{i}\n\nx\n".encode())
    wait_for(lambda: len(inst.queue_files("deferred")) == 4, 30, "four deferred messages")
    ids = sorted(os.listdir(os.path.join(inst.dir, "queue", "deferred")))
    res = tool(inst, "kurir-super", "-h", "-", input="\n".join(ids[:2]) + "\n")
    assert "Placed on hold: 2 messages" in res.stderr
    assert sorted(os.listdir(os.path.join(inst.dir, "queue", "hold"))) == ids[:2]
    res = tool(inst, "kurir-super", "-H", ids[0])
    assert "Released from hold: 1 message" in res.stderr
    wait_for(lambda: ids[0] not in os.listdir(os.path.join(inst.dir, "queue", "hold")), 10, "release")
    res = tool(inst, "kurir-super", "-r", ids[2])
    assert "Requeued: 1 message" in res.stderr
    wait_for(lambda: len(inst.queue_files("deferred")) + len(inst.queue_files("active")) + len(inst.queue_files("incoming")) >= 3
             and ids[2] not in str(inst.queue_files()), 30, "the requeued message with a new id")
    res = tool(inst, "kurir-super", "-d", "ALL")
    assert res.returncode == 0 and "Deleted:" in res.stderr
    wait_for(lambda: not inst.queue_files(), 20, "an empty queue")
    assert tool(inst, "kurir-queue", "-p").stdout == "Mail queue is empty\n"
    assert "removed" in inst.log()


def test_super_d_all_gets_a_message_that_moves_between_deferred_and_active(make_instance):
    """qmgr moves mail from deferred/ to active/ and back while kurir-super
    looks; here a thread plays that qmgr (the instance is not started), one
    move a millisecond, while -d ALL deletes 300 other messages in active/.
    One listing of the queues missed the moving message about one time in
    three."""
    inst = make_instance()
    qdir = os.path.join(inst.dir, "queue")
    alphabet = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
    rng = random.Random(1)
    names = iter(lambda: "".join(rng.choice(alphabet) for _ in range(15)), None)
    for _ in range(10):
        for _ in range(300):
            with open(os.path.join(qdir, "active", next(names)), "w") as f:
                f.write("x")
        moving = next(names)
        deferred, active = os.path.join(qdir, "deferred", moving), os.path.join(qdir, "active", moving)
        with open(deferred, "w") as f:
            f.write("x")
        stop = threading.Event()

        def play_qmgr():
            paths = [deferred, active]
            while not stop.is_set():
                try:
                    os.rename(paths[0], paths[1])
                except FileNotFoundError:
                    if not os.path.exists(paths[1]):
                        return  # deleted
                paths.reverse()
                time.sleep(0.001)

        mover = threading.Thread(target=play_qmgr)
        mover.start()
        try:
            res = tool(inst, "kurir-super", "-d", "ALL")
        finally:
            stop.set()
            mover.join()
        assert res.stderr.endswith("Deleted: 301 messages\n"), res.stderr
        assert not inst.queue_files()


def test_super_is_refused_to_others(make_instance):
    inst = make_instance().start()
    if inst.mode == "user":
        return  # the instance's own user may maintain its queue
    res = tool(inst, "kurir-super", "-d", "ALL", user=True)
    assert res.returncode != 0 and "permission" in res.stderr


def test_cat_shows_envelope_headers_and_exact_body(make_instance):
    inst = held_instance(make_instance)
    body = "line one\n\tindented\n..two dots\n" + "x" * 5000 + "\n"
    inst.sendmail("-i", "far@remote.test", input=("Subject: cat me\n\n" + body).encode())
    wait_for(lambda: inst.queue_files("deferred"), 30, "a deferred message")
    qid = os.path.basename(inst.queue_files("deferred")[0])
    res = tool(inst, "kurir-cat", qid)
    assert res.returncode == 0, res.stderr
    assert f"*** ENVELOPE RECORDS deferred/{qid} ***" in res.stdout
    assert "recipient: far@remote.test" in res.stdout
    assert tool(inst, "kurir-cat", "-b", qid).stdout == body
    headers = tool(inst, "kurir-cat", "-h", qid).stdout
    assert "Subject: cat me\n" in headers and "line one" not in headers
    assert tool(inst, "kurir-cat", "4jXv0000000QQQQ").returncode != 0


def test_cat_refuses_a_fifo_or_a_symbolic_link_in_a_queue(make_instance):
    """Found by review: kurir-cat (run by root) read a queue file by name,
    so a FIFO that mail_owner put in a queue directory held it for ever,
    and a symbolic link was followed."""
    inst = make_instance().start()
    hold = os.path.join(inst.dir, "queue", "hold")
    fifo, link = os.path.join(hold, "4jXv0000000QQQR"), os.path.join(hold, "4jXv0000000QQQS")
    os.mkfifo(fifo, 0o600)
    os.symlink(os.path.join(inst.dir, "main.cf"), link)
    try:
        for qid in ("4jXv0000000QQQR", "4jXv0000000QQQS"):
            res = tool(inst, "kurir-cat", qid)
            assert res.returncode != 0
            assert "not a regular file" in res.stderr, res.stderr
            assert "queue_directory" not in res.stdout + res.stderr  # main.cf was not read
    finally:
        os.unlink(fifo)
        os.unlink(link)


def test_flush_delivers_deferred_now(make_instance):
    inst = make_instance().start()
    blocker = os.path.join(inst.dir, "mail", "wes")
    with open(blocker, "w") as f:
        f.write("x")
    inst.set(minimal_backoff_time="1h", maximal_backoff_time="2h")
    inst.kurir("reload")
    time.sleep(0.5)
    inst.send("s@client.test", ["wes@mx.test"], "Subject: flush\r\n\r\nx\r\n")
    wait_for(lambda: inst.queue_files("deferred"), 30, "a deferred message")
    os.unlink(blocker)
    res = tool(inst, "kurir-queue", "-f", user=True)
    assert res.returncode == 0, res.stderr
    inst.wait_delivered("wes", 1, timeout=20)


def test_message_being_delivered_is_marked_active(make_instance):
    inst = make_instance()
    with open(os.path.join(inst.dir, "aliases"), "w") as f:
        f.write('slow: "|sleep 3"\n')
    cmd = [os.path.join(PREFIX, "bin", "newaliases"), "-C", inst.dir]
    assert subprocess.run((inst.submitter() if inst.mode == "user" else []) + cmd).returncode == 0
    inst.start()
    inst.send("s@client.test", ["slow@mx.test"], "Subject: slow\r\n\r\nx\r\n")
    wait_for(lambda: inst.queue_files("active"), 20, "a message in active")
    qid = os.path.basename(inst.queue_files("active")[0])
    out = tool(inst, "kurir-queue", "-p", user=True).stdout
    assert f"{qid}*" in out, out
    entry = json.loads(tool(inst, "kurir-queue", "-j").stdout.splitlines()[0])
    assert entry["queue_name"] == "active"
    inst.wait_queue_empty()


def test_super_s_repairs_names_and_unparseable_files(make_instance):
    inst = make_instance().start()
    incoming = os.path.join(inst.dir, "queue", "incoming")
    deferred = os.path.join(inst.dir, "queue", "deferred")
    with open(os.path.join(deferred, "not-a-queue-id"), "wb") as f:
        f.write(b"x")
    hold = os.path.join(inst.dir, "queue", "hold")  # qmgr never takes files from hold/
    with open(os.path.join(hold, "4jXv000000BDDQK"), "wb") as f:
        f.write(b"garbage")
    res = tool(inst, "kurir-super", "-s")
    assert res.returncode == 0 and "Repaired: 2 messages" in res.stderr, res.stderr
    corrupt = sorted(os.listdir(os.path.join(inst.dir, "queue", "corrupt")))
    assert corrupt == ["4jXv000000BDDQK", "deferred-not-a-queue-id"]
    assert os.listdir(deferred) == [] and os.listdir(hold) == [] and os.listdir(incoming) == []


def test_super_never_follows_links_or_opens_fifos_in_the_queue(make_instance):
    """mail_owner may write every queue directory; root's kurir-super -s must
    not turn that into root: a symbolic link or a second hard link under a
    queue id name is never chowned through, a FIFO never opened (it would
    block), and -H/-r never follow a link either (issue 14)."""
    from queue_file import queue_file
    inst = make_instance()  # not started: nothing but kurir-super touches the queue
    queue = os.path.join(inst.dir, "queue")
    victims = []
    for name in ("victim-symlink", "victim-hardlink", "victim-held"):
        path = os.path.join(inst.tmp, name)  # root's files, valid queue files
        with open(path, "wb") as f:
            f.write(queue_file("s@client.test", ["a@mx.test"], [name]))
        os.chmod(path, 0o600)
        victims.append(path)
    ids = ["4jXv000000SYMLN", "4jXv000000HRDLN", "4jXv000000FFQHD", "4jXv000000HLDLN"]
    os.symlink(victims[0], os.path.join(queue, "incoming", ids[0]))
    os.link(victims[1], os.path.join(queue, "deferred", ids[1]))
    os.mkfifo(os.path.join(queue, "hold", ids[2]))
    os.symlink(victims[2], os.path.join(queue, "hold", ids[3]))
    before = {v: (os.stat(v).st_uid, os.stat(v).st_mtime_ns) for v in victims}

    res = tool(inst, "kurir-super", "-s")
    assert res.returncode == 0, res.stderr
    for v in victims[:2]:
        assert (os.stat(v).st_uid, os.stat(v).st_mtime_ns) == before[v], f"{v} changed through the queue"
    corrupt = os.path.join(queue, "corrupt")
    assert sorted(os.listdir(corrupt)) == sorted([ids[0], ids[2], ids[3]])
    assert os.path.islink(os.path.join(corrupt, ids[0]))
    assert os.path.exists(os.path.join(queue, "deferred", ids[1]))

    # -H and -r on a link under a queue id: neither the release time nor a
    # requeued copy comes through the link.
    os.symlink(victims[2], os.path.join(queue, "hold", ids[3]))
    res = tool(inst, "kurir-super", "-H", ids[3])
    assert res.returncode == 0, res.stderr
    assert os.stat(victims[2]).st_mtime_ns == before[victims[2]][1]
    os.symlink(victims[2], os.path.join(queue, "deferred", "4jXv000000RQLNK"))
    res = tool(inst, "kurir-super", "-r", "4jXv000000RQLNK")
    assert "Requeued: 0 messages" in res.stderr, res.stderr
    assert os.listdir(os.path.join(queue, "maildrop")) == []
    assert os.stat(victims[2]).st_uid == before[victims[2]][0]


def test_defer_transports_holds_then_reload_and_flush_release(make_instance):
    inst = make_instance(defer_transports="local", minimal_backoff_time="300s", maximal_backoff_time="600s").start()
    for i in range(3):
        inst.send("s@client.test", ["amy@mx.test"], f"Subject: held {i}\r\n\r\nx\r\n")
    wait_for(lambda: len(inst.queue_files("deferred")) == 3, 30, "three held messages")
    assert "status=deferred (deferred transport)" in inst.log()
    assert not inst.maildir_files("amy")
    assert tool(inst, "kurir-conf", "-e", "defer_transports =").returncode == 0
    inst.kurir("reload")
    inst.kurir("flush")  # at once: qmgr rereads the changed main.cf on a flush
    inst.wait_delivered("amy", 3)
    inst.wait_queue_empty()


def test_backlog_larger_than_active_limit_drains_without_waiting_for_a_queue_run(make_instance):
    n = 60
    inst = make_instance(defer_transports="local", qmgr_message_active_limit="10", queue_run_delay="300s",
                         minimal_backoff_time="300s", maximal_backoff_time="600s").start()
    with inst.smtp() as s:
        for i in range(n):
            s.sendmail("s@client.test", ["amy@mx.test"], f"Subject: backlog {i}\r\n\r\nx\r\n")
    wait_for(lambda: len(inst.queue_files("deferred")) == n, 60, "the whole backlog held")
    assert tool(inst, "kurir-conf", "-e", "defer_transports =").returncode == 0
    inst.kurir("reload")
    inst.kurir("flush")  # at once: qmgr rereads the changed main.cf on a flush
    inst.wait_delivered("amy", 5, timeout=60)
    # A qmgr that dies now (and one that takes over after a reload) still
    # finds the rest due: the flush made them due on disk.
    for pid in inst.pids("qmgr"):
        os.kill(pid, signal.SIGKILL)
    inst.wait_delivered("amy", n, timeout=60)
    inst.wait_queue_empty()
    assert len(inst.maildir_files("amy")) <= n + 10  # a kill repeats at most what was in flight


def shape_rows(out):
    """qshape output as {name: [counts]}, after checking its frame."""
    lines = out.splitlines()
    assert all(len(l) == 80 for l in lines), out
    assert lines[0].split() == ["T", "5", "10", "20", "40", "80", "160", "320", "640", "1280", "1280+"]
    assert lines[1].split()[0] == "TOTAL"
    return {l.split()[0]: [int(n) for n in l.split()[1:]] for l in lines[1:]}


def test_qshape_counts_recipients_and_senders_per_domain(make_instance):
    inst = held_instance(make_instance)
    for i in range(3):
        res = inst.sendmail("far@remote.test", "x@Other.Test", input=f"Subject: s{i}\n\nbody\n".encode())
        assert res.returncode == 0, res.stderr
    wait_for(lambda: len(inst.queue_files("deferred")) == 3, 30, "three deferred messages")
    res = tool(inst, "kurir-queue", "-q", "deferred", user=True)
    assert res.returncode == 0, res.stderr
    rows = shape_rows(res.stdout)
    fresh = [3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert rows == {"TOTAL": [6, 6] + [0] * 9, "other.test": fresh, "remote.test": fresh}
    # Equal counts: the shorter name first; TOTAL always first.
    assert [l.split()[0] for l in res.stdout.splitlines()[1:]] == ["TOTAL", "other.test", "remote.test"]
    # qshape's default is incoming and active: nothing waits there.
    assert shape_rows(tool(inst, "kurir-queue", "-q", user=True).stdout) == {"TOTAL": [0] * 11}
    # -s: one count per message, by sender domain (mail from sendmail comes from $myorigin).
    rows = shape_rows(tool(inst, "kurir-queue", "-q", "-s", "deferred", "hold", user=True).stdout)
    assert rows == {"TOTAL": [3, 3] + [0] * 9, "mx.test": [3, 3] + [0] * 9}
    bad = tool(inst, "kurir-queue", "-q", "nosuchqueue")
    assert bad.returncode != 0 and "unknown queue: nosuchqueue" in bad.stderr


def deferred_id(inst):
    wait_for(lambda: len(inst.queue_files("deferred")) == 1, 30, "a deferred message")
    return os.path.basename(inst.queue_files("deferred")[0])


def test_super_expire_returns_deferred_mail_to_its_sender(make_instance):
    inst = held_instance(make_instance)
    inst.send("alice@mx.test", ["far@remote.test"], b"Subject: to expire\r\n\r\nbody\r\n")
    qid = deferred_id(inst)
    res = tool(inst, "kurir-super", "-e", qid)
    assert res.returncode == 0, res.stderr
    assert "Expired: 1 message" in res.stderr
    [bounce] = inst.wait_delivered("alice", 1)
    text = open(bounce, errors="replace").read()
    assert "Return-Path: <>" in text or "From: MAILER-DAEMON" in text
    assert "far@remote.test" in text
    assert "Connection refused" in text  # the reason it was deferred
    wait_for(lambda: not inst.queue_files(), 30, "the expired message gone")
    log = inst.log()
    assert f"{qid}: forced expiration requested" in log
    assert any(f"{qid}: to=<far@remote.test>" in l and "status=expired, returned to sender" in l
               for l in log.splitlines()), log


def test_super_e_keeps_held_mail_held_and_f_releases_and_expires_it(make_instance):
    inst = held_instance(make_instance)
    inst.send("alice@mx.test", ["far@remote.test"], b"Subject: held\r\n\r\nbody\r\n")
    qid = deferred_id(inst)
    assert tool(inst, "kurir-super", "-h", qid).returncode == 0
    held = os.path.join(inst.dir, "queue", "hold", qid)
    res = tool(inst, "kurir-super", "-e", qid)
    assert res.returncode == 0 and "Expired: 1 message" in res.stderr
    assert os.stat(held).st_mode & 0o010  # marked, and still on hold
    [entry] = [json.loads(l) for l in tool(inst, "kurir-queue", "-j", user=True).stdout.splitlines()]
    assert entry["queue_name"] == "hold" and entry["forced_expire"] is True
    assert inst.maildir_files("alice") == []
    res = tool(inst, "kurir-super", "-f", qid)
    assert res.returncode == 0 and "Expired: 1 message" in res.stderr
    inst.wait_delivered("alice", 1)
    wait_for(lambda: not inst.queue_files(), 30, "the expired message gone")
    assert f"{qid}: released from hold" in inst.log()
    # Returned, not delivered: the far side got nothing.
    lines = [l for l in inst.log().splitlines() if f"{qid}: to=<far@remote.test>" in l]
    assert any("status=expired, returned to sender" in l for l in lines), lines
    assert not any("status=sent" in l for l in lines), lines


def test_super_purge_removes_old_temporary_files_only(make_instance):
    inst = make_instance()
    queue = os.path.join(inst.dir, "queue")
    old = time.time() - 2 * 86400
    planted = {}
    for rel in ["incoming/.4jXv000000BBBBB.tmp", "maildrop/.4jXv000000CCCCC.tmp", "deferred/.x.tmp",
                "incoming/.fresh.tmp", "incoming/.keep", "hold/4jXv000000DDDDD"]:
        path = os.path.join(queue, rel)
        with open(path, "w") as f:
            f.write("x")
        if "fresh" not in rel:
            os.utime(path, (old, old))
        planted[rel] = path
    outside = os.path.join(inst.tmp, "target.tmp")
    with open(outside, "w") as f:
        f.write("not the queue's")
    link = os.path.join(queue, "active", ".link.tmp")
    os.symlink(outside, link)
    os.utime(link, (old, old), follow_symlinks=False)
    res = tool(inst, "kurir-super", "-p")
    assert res.returncode == 0, res.stderr
    assert "Purged: 3 temporary files" in res.stderr
    gone = {"incoming/.4jXv000000BBBBB.tmp", "maildrop/.4jXv000000CCCCC.tmp", "deferred/.x.tmp"}
    for rel, path in planted.items():
        assert os.path.exists(path) == (rel not in gone), rel
    assert os.path.islink(link) and os.path.exists(outside)
