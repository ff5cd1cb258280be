"""smtpd keeps its connection to cleanup for the next message, and cleanup
serves several messages on one connection (issue 18), as qmgr and the
delivery agents do: fewer connections than messages, and every failure
as safe as with one connection each. A kept connection that cleanup
closed before its hello without reading the message is replaced and the
message sent again; a cleanup that dies after its hello is a 451, as
before: no message is lost (250 only once the queue file is durable) and
none is queued twice."""
import os
import re
import signal
import subprocess
import threading

from instance import wait_for


def kept_cleanup_sockets(inst):
    """Inodes of the connections cleanup accepted on private/cleanup that
    are open now (an accepted socket carries the listener's path)."""
    path = os.path.join(inst.dir, "queue", "private", "cleanup")
    with open("/proc/net/unix") as f:
        rows = [line.split() for line in f.read().splitlines()[1:]]
    return {row[6] for row in rows if len(row) == 8 and row[7] == path and row[5] == "03"}


def cleanup_pid_holding(inst, inode):
    for pid in inst.pids("cleanup"):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
        except OSError:
            pass
    return None


def cleanup_pids_that_queued(inst):
    return re.findall(r"kurir/cleanup\[(\d+)\]: \w+: message-id=", inst.log())


def unread_bytes(inst, inode):
    """Bytes waiting in cleanup's end of the connection (ss's Recv-Q)."""
    out = subprocess.run(["ss", "-x", "-n", "-a"], stdout=subprocess.PIPE, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[5] == inode:
            return int(fields[2])
    return 0


def started_with_a_kept_cleanup_connection(make_instance):
    """An instance that has delivered one message for alice; the inode of
    the connection cleanup answered it on, which smtpd keeps, and the pid
    of the cleanup that holds it."""
    inst = make_instance(ipc_idle="300s")
    inst.start()
    inst.send("s@client.test", ["alice@mx.test"], "Subject: 1\r\n\r\none\r\n")
    inst.wait_delivered("alice", 1)
    kept = wait_for(lambda: kept_cleanup_sockets(inst), 30, "a kept cleanup connection")
    assert len(kept) == 1, kept
    (inode,) = kept
    pid = cleanup_pid_holding(inst, inode)
    assert pid, "no cleanup holds the kept connection"
    return inst, inode, pid


def test_messages_of_separate_sessions_share_one_cleanup_connection(make_instance):
    inst, inode, _ = started_with_a_kept_cleanup_connection(make_instance)
    for i in range(1, 5):
        inst.send("s@client.test", ["alice@mx.test"], f"Subject: {i}\r\n\r\nbody {i}\r\n")
    inst.wait_delivered("alice", 5)
    inst.wait_queue_empty()
    # Five SMTP sessions, one cleanup connection and process for all.
    assert kept_cleanup_sockets(inst) == {inode}
    assert len(set(cleanup_pids_that_queued(inst))) == 1, cleanup_pids_that_queued(inst)
    assert len(inst.maildir_files("alice")) == 5


def the_second_arrived_once(inst):
    """alice has two messages, the queue is empty, and no client was told
    of a write error."""
    inst.wait_delivered("alice", 2)
    inst.wait_queue_empty()
    assert len(inst.maildir_files("alice")) == 2
    assert "queue file write error" not in inst.log()


def test_cleanup_killed_while_kept_idle_loses_and_repeats_nothing(make_instance):
    inst, _, _ = started_with_a_kept_cleanup_connection(make_instance)
    for pid in inst.pids("cleanup"):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: "killed by signal 9" in inst.log(), 30, "master to see cleanup die")
    inst.send("s@client.test", ["alice@mx.test"], "Subject: 2\r\n\r\ntwo\r\n")
    the_second_arrived_once(inst)


def test_cleanup_dying_with_the_next_message_unread_gets_it_sent_again_once(make_instance):
    # The kept connection's cleanup is stopped, the whole next message waits
    # unread in its socket, then cleanup dies: it never named a queue id, so
    # smtpd sends the message again on a new connection; the client gets
    # 250 and the message arrives once.
    inst, inode, pid = started_with_a_kept_cleanup_connection(make_instance)
    os.kill(pid, signal.SIGSTOP)
    result = {}

    def send():
        try:
            result["refused"] = inst.send("s@client.test", ["alice@mx.test"], "Subject: 2\r\n\r\ntwo\r\n")
        except Exception as e:  # noqa: BLE001 - asserted below
            result["error"] = e

    client = threading.Thread(target=send)
    client.start()
    try:
        wait_for(lambda: unread_bytes(inst, inode) > 0, 30, "the message waiting in cleanup's socket")
    finally:
        os.kill(pid, signal.SIGKILL)  # stopped or not
    client.join(60)
    assert result == {"refused": {}}, result
    the_second_arrived_once(inst)


def test_cleanup_dying_mid_message_on_a_kept_connection_is_a_451_and_loses_nothing(make_instance):
    inst, _, pid = started_with_a_kept_cleanup_connection(make_instance)
    with inst.smtp() as s:
        s.ehlo("client.test")
        s.mail("s@client.test")
        s.rcpt("alice@mx.test")
        code, _ = s.docmd("DATA")
        assert code == 354
        s.send(b"Subject: 2\r\n\r\nthe first half\r\n")
        # cleanup has named the queue id (smtpd logs it): it is serving this
        # message on the kept connection when it dies.
        wait_for(lambda: len(re.findall(r"kurir/smtpd\[\d+\]: \w+: client=", inst.log())) == 2, 30,
                 "cleanup's hello for the second message")
        os.kill(pid, signal.SIGKILL)
        s.send(b"the second half\r\n.\r\n")
        code, text = s.getreply()
        assert code == 451, (code, text)
        # The client tries again: a new connection takes it.
        assert s.sendmail("s@client.test", ["alice@mx.test"], "Subject: 2\r\n\r\nagain\r\n") == {}
    inst.wait_delivered("alice", 2)
    inst.wait_queue_empty()
    bodies = [open(p).read() for p in inst.maildir_files("alice")]
    assert len(bodies) == 2 and sum("again" in b for b in bodies) == 1, bodies
    assert not inst.queue_files()


def test_a_stream_that_stops_is_given_up_after_ipc_timeout(make_instance):
    """cleanup's reads wait at most ipc_timeout, now set once per
    connection by the request server rather than per message: a client
    that starts a stream and goes silent is closed then (not at max_idle,
    nor never)."""
    import socket
    import time
    inst = make_instance(ipc_timeout="2s", max_idle="300s")
    inst.start()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(os.path.join(inst.dir, "queue", "private", "cleanup"))
        s.settimeout(30)
        assert s.recv(4096)  # the hello
        s.sendall(b"A\x0borigin=smtp")  # a record, and nothing after it
        started = time.monotonic()
        while s.recv(4096):
            pass
        assert time.monotonic() - started < 20, "cleanup waited for more than ipc_timeout"
    assert not inst.queue_files("incoming", "active")
