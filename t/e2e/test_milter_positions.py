"""Where a milter's header edits land, checked against Postfix itself: one
pymilter milter (milter_script.py "positions": appends, inserts at 0, 1, 3
and past the end, changes by index, a change of a field that is not there,
deletions) edits the same message in kurir and in a private Postfix, for
mail from an SMTP client (smtpd_milters) and from sendmail
(non_smtpd_milters); the delivered header fields, in order, are the same.

Neither MTA shows a milter its own Received: header; an insert at 0 still
goes above it, and a change of Received: #1 changes the client's."""
import email.parser
import email.policy
import os
import smtplib
import subprocess

import pytest

from instance import wait_for
from peers import PostfixInstance, postfix_usable
from test_milter import MilterProcess

pytestmark = pytest.mark.skipif(not postfix_usable(), reason="a private Postfix needs root and Debian's postfix")

HEADER = ("Received: from client.example (client.example [192.0.2.1]) by relay.example; "
          "Mon, 7 Dec 2026 03:00:00 +0000\r\n"
          "From: s@client.test\r\nTo: someone@example.test\r\nSubject: hello\r\n"
          "Message-ID: <positions@client.test>\r\nDate: Mon, 7 Dec 2026 03:00:00 +0000\r\n"
          "X-Remove-Me: please\r\n")
MESSAGE = HEADER + "\r\nthe body\r\n"

# Added by the delivery agent, not the milter: left out of the comparison.
DELIVERY_FIELDS = {"return-path", "delivered-to", "x-original-to"}


def fields(raw):
    """The delivered header fields in order: (name, value), the MTA's own
    Received: header reduced to its name and "by" (kurir or Postfix)."""
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
    out = []
    for name, value in msg.items():
        if name.lower() in DELIVERY_FIELDS:
            continue
        value = " ".join(value.split())
        if name == "Received" and ("(kurir" in value or "(Postfix" in value):
            value = "<the MTA's own>"
        out.append((name, value))
    return out


def assert_postfix_shape(got):
    """What Postfix 3.7 makes of the milter's edits, so that a Postfix that
    changed would be noticed: the inserts at 0 and 1 both above the MTA's
    own Received: (the second counts the first), the insert at 3 below it;
    the change of Received: #1 is the client's (the MTA's own stays unseen
    below the inserts), while the field inserted at 0 can be changed;
    appends, the insert past the end and the change of a field not there
    follow the last field in order."""
    assert got == [("X-Ins-0", "changed after its insert"), ("X-Ins-1", "inserted at 1"), ("Received", "<the MTA's own>"),
                   ("X-Ins-3", "inserted at 3"), ("Received", "changed: the client's first"),
                   ("From", "s@client.test"), ("To", "someone@example.test"), ("Subject", "changed at index 0"),
                   ("Message-ID", "<positions@client.test>"), ("Date", "Mon, 7 Dec 2026 03:00:00 +0000"),
                   ("X-Add-1", "appended"), ("X-Ins-99", "inserted at 99"), ("X-Absent", "changed, so appended"),
                   ("X-Add-2", "appended last")], got


def postfix_mbox_message(pf):
    """The one message in Postfix's mbox, without its "From " line."""
    def one():
        try:
            with open(pf.mbox_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        return data if data.count(b"\n\n") >= 1 and b"the body" in data else None
    data = wait_for(one, 60, "Postfix's delivery")
    return data.split(b"\n", 1)[1]


@pytest.fixture
def milter(tmp_path):
    m = MilterProcess("positions", str(tmp_path))
    yield m
    m.stop()


def test_smtpd_milters_put_header_fields_where_postfix_does(make_instance, milter):
    inst = make_instance()
    inst.set(smtpd_milters=milter.spec())
    inst.start()
    with PostfixInstance(main_cf={"smtpd_milters": milter.spec()}) as pf:
        for port, rcpt in ((pf.port, "sink@pf.test"), (inst.port, "alice@mx.test")):
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                s.sendmail("s@client.test", [rcpt], MESSAGE)
        postfix = fields(postfix_mbox_message(pf))
    with open(inst.wait_delivered("alice", 1)[0], "rb") as f:
        kurir = fields(f.read())
    assert kurir == postfix
    # and the shape itself, so that a Postfix that changed would be noticed
    assert_postfix_shape(kurir)


def test_non_smtpd_milters_put_header_fields_where_postfix_does(make_instance, milter):
    inst = make_instance()
    inst.set(non_smtpd_milters=milter.spec())
    inst.start()
    body = MESSAGE.replace("\r\n", "\n").encode()
    with PostfixInstance(main_cf={"non_smtpd_milters": milter.spec()}) as pf:
        res = inst.sendmail("alice@mx.test", input=body)
        assert res.returncode == 0, res.stderr
        pf_res = subprocess.run(["/usr/sbin/sendmail", "-C", pf.conf, "-f", "s@client.test", "sink@pf.test"],
                                input=body, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert pf_res.returncode == 0, pf_res.stderr
        postfix = fields(postfix_mbox_message(pf))
    with open(inst.wait_delivered("alice", 1)[0], "rb") as f:
        kurir = fields(f.read())
    assert kurir == postfix
    assert_postfix_shape(kurir)
