"""A delivery agent takes several requests on one connection (issue 18),
each counted against max_use, and never lets a kept connection hold it
from a client that waits for a process."""
import collections
import os
import re
import socket
import struct

import pytest


def frame(fields):
    payload = b""
    for name, value in fields:
        name, value = name.encode(), value.encode()
        payload += struct.pack(">H", len(name)) + name + struct.pack(">I", len(value)) + value
    return struct.pack(">I", len(payload)) + payload


def read_frame(s):
    """The fields of the next frame on s, or None at the end of the stream."""
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data
    head = exact(4)
    if head is None:
        return None
    payload, fields, at = exact(struct.unpack(">I", head)[0]), [], 0
    while at < len(payload):
        (nlen,) = struct.unpack(">H", payload[at:at + 2])
        name = payload[at + 2:at + 2 + nlen].decode()
        (vlen,) = struct.unpack(">I", payload[at + 2 + nlen:at + 6 + nlen])
        fields.append((name, payload[at + 6 + nlen:at + 6 + nlen + vlen].decode()))
        at += 6 + nlen + vlen
    return fields


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
