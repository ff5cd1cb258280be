"""Each queue state of doc/queue.md recovers after a crash."""
import os
import time

from instance import wait_for
from queue_file import queue_file

QID = "4jXv000000TSTQ{}"  # 15 characters of the queue id alphabet (no vowels)


def put(inst, queue, qid, data, mtime=None):
    path = os.path.join(inst.dir, "queue", queue, qid)
    with open(path, "wb") as f:
        f.write(data)
    if inst.mode == "root":
        import pwd
        k = pwd.getpwnam("kurir")
        os.chown(path, k.pw_uid, k.pw_gid)
    elif inst.account is not None:
        os.chown(path, inst.account.pw_uid, inst.account.pw_gid)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def body(subject):
    return [f"Subject: {subject}", "", "recovered"]


def test_state1_stale_temp_files_are_removed(make_instance):
    inst = make_instance(ipc_timeout="60s")
    stale = put(inst, "incoming", ".4jXv000000TESTA.tmp", b"partial", mtime=time.time() - 3600)
    fresh = put(inst, "incoming", ".4jXv000000TESTB.tmp", b"partial")
    inst.start()
    wait_for(lambda: not os.path.exists(stale), 20, "the stale temp file to go")
    assert os.path.exists(fresh)


def test_state2_incoming_file_is_delivered_after_start(make_instance):
    inst = make_instance()
    put(inst, "incoming", QID.format("C"), queue_file("s@client.test", ["mia@mx.test"], body("incoming")))
    inst.start()
    inst.wait_delivered("mia", 1)
    inst.wait_queue_empty()


def test_state3_active_file_resumes_with_pending_recipients_only(make_instance):
    inst = make_instance()
    data = queue_file("s@client.test", ["done@mx.test", "nina@mx.test"], body("active"), done=["done@mx.test"])
    put(inst, "active", QID.format("D"), data)
    inst.start()
    inst.wait_delivered("nina", 1)
    inst.wait_queue_empty()
    assert inst.maildir_files("done") == []
    assert f"{QID.format('D')}: removed" in inst.log()


def test_state4_deferred_waits_for_its_time_or_a_flush(make_instance):
    inst = make_instance()
    put(inst, "deferred", QID.format("K"), queue_file("s@client.test", ["olga@mx.test"], body("due")),
        mtime=time.time() - 10)
    put(inst, "deferred", QID.format("F"), queue_file("s@client.test", ["pete@mx.test"], body("later")),
        mtime=time.time() + 3600)
    inst.start()
    inst.wait_delivered("olga", 1)
    time.sleep(1.5)  # a queue run passes (queue_run_delay = 1s): the later one still waits
    assert inst.maildir_files("pete") == []
    inst.kurir("flush")
    inst.wait_delivered("pete", 1)
    inst.wait_queue_empty()


def test_state5_unparseable_files_go_to_corrupt_and_the_rest_flows(make_instance):
    inst = make_instance()
    good = queue_file("s@client.test", ["quinn@mx.test"], body("good"))
    put(inst, "incoming", QID.format("G"), b"\x00garbage" * 10)
    put(inst, "incoming", QID.format("H"), good[:-3])  # truncated: no end record
    put(inst, "incoming", QID.format("K"), b"")  # named, its content lost to a power cut before the 250
    put(inst, "incoming", QID.format("J"), good)
    inst.start()
    inst.wait_delivered("quinn", 1)
    wait_for(lambda: len(os.listdir(os.path.join(inst.dir, "queue", "corrupt"))) == 3, 20, "three corrupt files")
    log = inst.log()
    assert "moved to corrupt" in log and "truncated" in log


def test_state6_active_file_with_every_recipient_done_is_removed_undelivered(make_instance):
    # What a qmgr killed between the last mark and its remover's unlink leaves.
    inst = make_instance()
    data = queue_file("s@client.test", ["done@mx.test", "also@mx.test"], body("finished"),
                      done=["done@mx.test", "also@mx.test"])
    path = put(inst, "active", QID.format("L"), data)
    inst.start()
    wait_for(lambda: not os.path.exists(path), 20, "the finished file removed")
    assert f"{QID.format('L')}: removed" in inst.log()
    assert inst.maildir_files("done") == [] and inst.maildir_files("also") == []


def test_deferred_delivery_is_retried_until_it_succeeds(make_instance):
    inst = make_instance()
    inst.start()
    # A mailbox that cannot be written yet: local defers.
    blocker = os.path.join(inst.dir, "mail", "rita")
    with open(blocker, "w") as f:
        f.write("not a maildir")
    inst.send("s@client.test", ["rita@mx.test"], "Subject: retry\r\n\r\nx\r\n")
    wait_for(lambda: inst.queue_files("deferred"), 30, "a deferred message")
    assert "status=deferred" in inst.log()
    os.unlink(blocker)
    inst.wait_delivered("rita", 1, timeout=30)
    inst.wait_queue_empty()
