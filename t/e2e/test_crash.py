"""Nothing accepted is lost: SIGKILL of any daemon, or of the whole
instance, while mail flows."""
import email
import fcntl
import os
import random
import signal
import threading
import time
import uuid

import pytest

from instance import wait_for


def load(instance, user, count, clients, accepted, failures=None):
    """Sends count messages from clients threads; records each Message-ID
    that got 250. Failures (4xx, lost connections) are retried and counted
    per Message-ID: a message whose 250 was lost may be queued twice, as
    with any MTA (RFC 1047)."""
    failures = failures if failures is not None else {}
    ids = [f"<k{i}-{uuid.uuid4()}@client.test>" for i in range(count)]
    lock = threading.Lock()

    def client(chunk):
        pending = list(chunk)
        deadline = time.monotonic() + 120
        while pending and time.monotonic() < deadline:
            try:
                with instance.smtp(timeout=20) as s:
                    while pending:
                        msg_id = pending[0]
                        msg = (f"From: s@client.test\r\nSubject: crash\r\nMessage-ID: {msg_id}\r\n\r\n"
                               f"body of {msg_id}\r\n")
                        s.sendmail("s@client.test", [f"{user}@mx.test"], msg)
                        with lock:
                            accepted.add(msg_id)
                        pending.pop(0)
            except Exception:  # noqa: BLE001 - a killed smtpd or cleanup: try again
                with lock:
                    failures[pending[0]] = failures.get(pending[0], 0) + 1
                time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(ids[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    return threads


def delivered_ids(instance, user):
    out = []
    for path in instance.maildir_files(user):
        with open(path, "rb") as f:
            out.append(email.message_from_bytes(f.read())["Message-ID"])
    return out


@pytest.mark.parametrize("victim", ["smtpd", "cleanup", "qmgr", "local"])
def test_sigkill_of_a_daemon_loses_nothing(make_instance, victim):
    inst = make_instance().start()
    accepted = set()
    failures = {}
    threads = load(inst, "frank", 500, 10, accepted, failures)
    kills = 0
    rng = random.Random(victim)
    while any(t.is_alive() for t in threads):
        time.sleep(rng.uniform(0.05, 0.25))
        for pid in inst.pids(victim):
            try:
                os.kill(pid, signal.SIGKILL)
                kills += 1
            except ProcessLookupError:
                pass
    for t in threads:
        t.join()
    assert kills > 0, f"no {victim} process was ever running to kill"
    assert len(accepted) == 500, "clients retried until every message was accepted"
    wait_for(lambda: set(delivered_ids(inst, "frank")) >= accepted, 120, "every accepted message")
    inst.wait_queue_empty(timeout=60)
    got = delivered_ids(inst, "frank")
    extra = {i: got.count(i) - 1 for i in set(got) if got.count(i) > 1}
    if victim in ("smtpd", "cleanup"):
        # Only a message whose reply the client lost can be there twice.
        for msg_id, n in extra.items():
            assert n <= failures.get(msg_id, 0), f"{msg_id} delivered {n + 1} times"
    else:
        # A delivery whose result was lost with qmgr or local is repeated:
        # at most the deliveries in flight at each kill.
        assert sum(extra.values()) <= kills * 20
    assert f"killed by signal 9" in inst.log()
    # master restarted what died: mail still flows.
    inst.send("s@client.test", ["grace@mx.test"], "Subject: after\r\n\r\nok\r\n")
    inst.wait_delivered("grace", 1)


def test_sigkill_of_the_whole_instance_then_start(make_instance):
    inst = make_instance().start()
    accepted = set()
    threads = load(inst, "heidi", 300, 10, accepted)
    wait_for(lambda: len(accepted) >= 100, 60, "100 accepted messages")
    inst.kill_all(signal.SIGKILL)
    for t in threads:
        t.join(timeout=1)
    snapshot = set(accepted)
    inst.started = False
    wait_for(lambda: not inst.processes(), 10, "all processes gone")
    inst.start()
    wait_for(lambda: set(delivered_ids(inst, "heidi")) >= snapshot, 120, "every accepted message")
    for t in threads:
        t.join()
    wait_for(lambda: set(delivered_ids(inst, "heidi")) >= accepted, 120, "every accepted message")
    inst.wait_queue_empty(timeout=60)


def test_qmgr_killed_before_its_remover_unlinks_repeats_no_delivery(make_instance):
    # The moment between qmgr's done mark and its remover's unlink, held open:
    # a delivery waits on the mbox lock we hold while active/ is made
    # unwritable, so the unlink cannot happen and the finished file stays. The qmgr
    # that master starts next must find it done, not deliver it again.
    inst = make_instance()
    spool = inst.shared_dir("mbox-spool")
    inst.set(mail_spool_directory=spool)
    inst.start()
    inst.send("s@client.test", ["ivan@mx.test"], "Subject: first\r\n\r\nx\r\n")
    mbox = os.path.join(spool, "ivan")
    wait_for(lambda: os.path.exists(mbox) and b"Subject: first" in open(mbox, "rb").read(), 30, "the first delivery")
    inst.wait_queue_empty()
    active = os.path.join(inst.dir, "queue", "active")
    with open(mbox, "rb+") as held:
        fcntl.lockf(held, fcntl.LOCK_EX)
        inst.send("s@client.test", ["ivan@mx.test"], "Subject: second\r\n\r\nx\r\n")
        wait_for(lambda: inst.queue_files("active"), 30, "the second message in active/")
        qid = os.path.basename(inst.queue_files("active")[0])
        os.chmod(active, 0o500)
        try:
            fcntl.lockf(held, fcntl.LOCK_UN)
            # Logged as qmgr hands the unlink over; the unlink cannot succeed.
            wait_for(lambda: f"{qid}: removed" in inst.log(), 30, "the second delivery finished")
            assert os.path.exists(os.path.join(active, qid))
            for pid in inst.pids("qmgr"):
                os.kill(pid, signal.SIGKILL)
        finally:
            os.chmod(active, 0o700)
    inst.wait_queue_empty()
    wait_for(lambda: inst.log().count(f"{qid}: removed") == 2, 30, "the next qmgr's removal")
    assert open(mbox, "rb").read().count(b"Subject: second") == 1
