"""qmgr keeps its connection to a delivery agent for the next request
(issue 18), and an agent takes several requests on one connection, as
Postfix's processes serve several clients: fewer connections than
deliveries, and every failure path as safe as with one connection each. A
kept connection that the agent closed before reading the request is
replaced and the request sent again; one it closed after reading defers
the recipients, never delivers twice."""
import collections
import os
import re
import signal
import socket

import pytest

from attr_frame import frame, read_frame
from instance import PREFIX, wait_for

FAKE_AGENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_agent.py")


def request(queue_id, rcpt):
    return frame([("protocol", "delivery-request/1"), ("queue_id", queue_id), ("sender", "s@client.test"),
                  ("nexthop", "mx.test"), ("active_usec", "1796540764000000"), ("offset", "120"),
                  ("address", rcpt)])


@pytest.mark.parametrize("service,rcpt", [("local", "alice@mx.test"), ("virtual", "v@virtual.test"),
                                          ("error", "e@error.test"), ("discard", "d@discard.test"),
                                          ("smtp", "far@remote.test")])
def test_agent_answers_several_requests_on_one_connection(make_instance, service, rcpt):
    inst = make_instance(relayhost="[127.0.0.1]:9").start()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(60)
        s.connect(os.path.join(inst.dir, "queue", "private", service))
        # Queue files that are not there: each request is answered 4.x, and
        # the connection stays for the next.
        for queue_id in ("4jhx8r6SLH89sxY", "4jhx8r6SLH89sxZ", "4jhx8r6SLH89sxa"):
            s.sendall(request(queue_id, rcpt))
            answer = read_frame(s)
            assert answer is not None, f"{service} closed the connection before answering {queue_id}"
            fields = dict(answer)
            assert fields["protocol"] == "delivery-result/1"
            assert fields["offset"] == "120" and fields["dsn"].startswith("4."), answer
    assert "status=sent" not in inst.log()


def fake_transport(inst, mode, maxproc="-"):
    """Routes fake.test to the service "fake" run by master: t/e2e/fake_agent.py
    in MODE, in a daemon_directory that holds it beside the real daemons.
    Returns the path of its record."""
    daemons = os.path.join(inst.tmp, "libexec")
    os.mkdir(daemons)
    real = os.path.join(PREFIX, "libexec", "kurir")
    for name in os.listdir(real):
        os.symlink(os.path.join(real, name), os.path.join(daemons, name))
    os.symlink(FAKE_AGENT, os.path.join(daemons, "fake_agent"))
    record = os.path.join(inst.shared_dir("fake"), "record")
    inst.add_service(f"fake unix - n n - {maxproc} fake_agent {record} {mode}")
    inst.set(daemon_directory=daemons, transport_maps=inst.build_map("transport", "fake.test fake:\n"),
             ipc_idle="300s")
    return record


def records(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def send_one_by_one(inst, record, count):
    """count messages to fake.test, each sent once the one before reached the agent."""
    for i in range(count):
        inst.send("s@client.test", [f"u{i}@fake.test"], f"Subject: {i}\r\n\r\nbody {i}\r\n")
        wait_for(lambda: len({l for l in records(record) if l.startswith("request ")}) > i, 60,
                 f"message {i} at the agent")


def run_fake(make_instance, mode, count, **params):
    """count messages, one by one, through the fake agent in MODE until the
    queue is empty; returns the instance and the agent's record."""
    inst = make_instance(**params)
    record = fake_transport(inst, mode)
    inst.start()
    send_one_by_one(inst, record, count)
    inst.wait_queue_empty()
    return inst, records(record)


def requests_read(got):
    return collections.Counter(l for l in got if l.startswith("request "))


def test_deliveries_share_one_kept_connection(make_instance):
    _, got = run_fake(make_instance, "answer", 5)
    assert len(requests_read(got)) == 5 and set(requests_read(got).values()) == {1}, got
    assert got.count("accept") == 1, f"5 deliveries took {got.count('accept')} connections"


def test_kept_connection_closed_unread_sends_the_request_again(make_instance):
    inst, got = run_fake(make_instance, "close-unread", 3)
    assert len(requests_read(got)) == 3 and set(requests_read(got).values()) == {1}, got
    # Each message after the first met a closed kept connection, then a new one.
    assert got.count("accept") == 3, got
    assert "status=deferred" not in inst.log()


def test_agent_dying_after_reading_a_request_defers_it_once(make_instance):
    inst, got = run_fake(make_instance, "read-and-die", 2, minimal_backoff_time="3s", maximal_backoff_time="3s")
    # The second was read by an agent that then died: deferred (never sent
    # again at once, it may have been delivered), and delivered by the next.
    assert sorted(requests_read(got).values()) == [1, 2], got
    assert re.search(r"to=<u1@fake\.test>, relay=none, .*status=deferred \(unknown mail transport error\)",
                     inst.log()), inst.log()


def replace_local_service(inst, text):
    """master.cf's local line replaced by text."""
    path = os.path.join(inst.dir, "master.cf")
    with open(path) as f:
        lines = f.read().splitlines()
    at = [i for i, l in enumerate(lines) if l.split()[:2] == ["local", "unix"]]
    assert len(at) == 1, lines
    lines[at[0]] = text
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def local_pids_that_delivered(inst):
    return collections.Counter(re.findall(r"kurir/local\[(\d+)\]: \w+: to=<[^>]*>, .*status=sent", inst.log()))


def test_local_max_use_counts_requests_on_a_kept_connection(make_instance):
    inst = make_instance(ipc_idle="300s")
    replace_local_service(inst, "local unix - n n - - local -o max_use=2")
    inst.start()
    for i in range(5):
        inst.send("s@client.test", ["alice@mx.test"], f"Subject: {i}\r\n\r\nbody {i}\r\n")
        inst.wait_delivered("alice", i + 1)
    inst.wait_queue_empty()
    pids = local_pids_that_delivered(inst)
    assert sum(pids.values()) == 5 and max(pids.values()) <= 2, pids
    assert len(inst.maildir_files("alice")) == 5


def test_local_at_its_process_limit_is_not_held_by_a_kept_connection(make_instance):
    # One local process; qmgr hands it two messages at once: the second
    # connection waits on the listener while the first is kept (ipc_idle
    # 300s). The process takes it after its answer instead of waiting on the
    # kept connection for a request that will not come.
    inst = make_instance(ipc_idle="300s")
    replace_local_service(inst, "local unix - n n - 1 local")
    inst.start()
    with inst.smtp() as s:
        for i in range(6):
            s.sendmail("s@client.test", [f"user{i}@mx.test"], f"Subject: {i}\r\n\r\nbody {i}\r\n")
    for i in range(6):
        inst.wait_delivered(f"user{i}", 1, timeout=60)
    assert len(set(local_pids_that_delivered(inst))) == 1


def test_local_killed_while_kept_idle_loses_and_repeats_nothing(make_instance):
    inst = make_instance(ipc_idle="300s")
    inst.start()
    inst.send("s@client.test", ["alice@mx.test"], "Subject: 1\r\n\r\none\r\n")
    inst.wait_delivered("alice", 1)
    inst.wait_queue_empty()
    for pid in inst.pids("local"):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: "killed by signal 9" in inst.log(), 30, "master to see local die")
    inst.send("s@client.test", ["alice@mx.test"], "Subject: 2\r\n\r\ntwo\r\n")
    inst.wait_delivered("alice", 2)
    inst.wait_queue_empty()
    assert len(inst.maildir_files("alice")) == 2
    assert "status=deferred" not in inst.log()


def test_local_killed_mid_delivery_on_a_kept_connection_defers(make_instance):
    inst = make_instance(ipc_idle="300s", allow_mail_to_commands="alias,forward")
    work = inst.shared_dir("work")
    script = os.path.join(work, "slow.sh")
    with open(script, "w") as f:
        f.write(f"#!/bin/sh\necho run >> {work}/started\nwhile [ ! -e {work}/go ]; do sleep 0.05; done\n"
                f"cat > {work}/out.$$\n")
    os.chmod(script, 0o755)
    inst.write_aliases(f"slow: \"|{script}\"\n")
    assert inst.newaliases().returncode == 0
    inst.start()
    inst.send("s@client.test", ["alice@mx.test"], "Subject: 1\r\n\r\none\r\n")
    inst.wait_delivered("alice", 1)
    inst.send("s@client.test", ["slow@mx.test"], "Subject: 2\r\n\r\ntwo\r\n")
    wait_for(lambda: os.path.exists(os.path.join(work, "started")), 60, "the command to start")
    for pid in inst.pids("local"):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: re.search(r"to=<slow@mx\.test>, .*status=deferred \(unknown mail transport error\)",
                               inst.log()), 60, "the request deferred")
    # The command was running when local died: the known window (the
    # delivery repeats). Let it and the repeat finish.
    open(os.path.join(work, "go"), "w").close()
    inst.wait_queue_empty(timeout=90)
    assert len(inst.maildir_files("alice")) == 1


def test_reload_with_kept_connections_delivers_and_ends_the_old_agents(make_instance):
    inst = make_instance(ipc_idle="300s")
    inst.start()
    inst.send("s@client.test", ["alice@mx.test"], "Subject: 1\r\n\r\none\r\n")
    inst.wait_delivered("alice", 1)
    old = set(inst.pids("local"))
    assert old
    inst.kurir("reload")
    wait_for(lambda: not old & set(inst.pids("local")), 60, "the old local processes to exit")
    inst.send("s@client.test", ["alice@mx.test"], "Subject: 2\r\n\r\ntwo\r\n")
    inst.wait_delivered("alice", 2)
    inst.wait_queue_empty()
    assert len(inst.maildir_files("alice")) == 2
    assert "status=deferred" not in inst.log()
