"""The internal protocols (lib/mail/mail_proto.hpp) against a stranger on a
private socket: a frame naming another protocol, another version, or missing
a field is refused and logged by name, unanswered, and delivers nothing."""
import os
import socket

import pytest

from attr_frame import frame
from instance import wait_for


def ask(inst, service, fields):
    """Sends one frame to private/SERVICE; returns what came back before the
    server closed the connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(os.path.join(inst.dir, "queue", "private", service))
        s.sendall(frame(fields))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        return data


def delivery(protocol, rcpt="alice@mx.test"):
    return [("protocol", protocol), ("queue_id", "4jhx8r6SLH89sxY"), ("sender", "s@client.test"),
            ("nexthop", "mx.test"), ("active_usec", "1796540764000000"), ("offset", "120"), ("address", rcpt)]


CASES = [
    ("local", delivery("delivery-request/9"), 'delivery-request: protocol "delivery-request/9", expected "delivery-request/1"'),
    ("local", delivery("rewrite-request/1"), 'delivery-request: protocol "rewrite-request/1", expected "delivery-request/1"'),
    ("local", delivery("delivery-request/1")[:-1], "delivery-request: missing field address"),
    ("smtp", delivery("delivery-request/2", "far@remote.test"), 'delivery-request: protocol "delivery-request/2"'),
    ("smtp", delivery("delivery-request/1", "far@remote.test") + [("nexthop", "evil")],
     "delivery-request: field nexthop where offset was expected"),
    ("rewrite", [("protocol", "resolve/1"), ("request", "resolve"), ("address", "a@b")],
     'rewrite-request: protocol "resolve/1", expected "rewrite-request/1"'),
    ("rewrite", [("request", "resolve"), ("address", "a@b")], "rewrite-request: no protocol field"),
]


@pytest.mark.parametrize("service,fields,logged", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_foreign_frame_is_refused_and_logged(make_instance, service, fields, logged):
    inst = make_instance(relayhost="[127.0.0.1]:9").start()
    assert ask(inst, service, fields) == b"", "a refused frame gets no answer"
    wait_for(lambda: logged in inst.log(), 30, f"the log line naming the fault: {logged}")
    assert "warning:" in [l for l in inst.log().splitlines() if logged in l][0]
    # Nothing was delivered or queued, and the service still serves.
    assert not os.listdir(os.path.join(inst.dir, "mail"))
    assert "status=" not in inst.log()
    inst.send("s@client.test", ["alice@mx.test"], "Subject: after\r\n\r\nstill served\r\n")
    inst.wait_delivered("alice", 1)


@pytest.mark.parametrize("service", ["qmgr", "pickup"])
@pytest.mark.parametrize("sent,logged", [(b"W", "trigger: "), (frame([("protocol", "trigger/1"), ("request", "X"), ("arg", "")]),
                                                               'trigger: malformed request: "X"')],
                         ids=["old-one-byte", "unknown-request"])
def test_foreign_trigger_is_logged_and_ignored(make_instance, service, sent, logged):
    inst = make_instance().start()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(os.path.join(inst.dir, "queue", "public", service))
        s.sendall(sent)
        s.shutdown(socket.SHUT_WR)
        assert s.recv(1) == b""
    wait_for(lambda: f"warning: public/{service}: {logged}" in inst.log(), 30, "the trigger's refusal in the log")
    # A real wake-up still works: mail goes through.
    inst.send("s@client.test", ["alice@mx.test"], "Subject: after\r\n\r\nstill served\r\n")
    inst.wait_delivered("alice", 1)
