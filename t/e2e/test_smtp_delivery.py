"""The smtp delivery agent against real peers on loopback: an aiosmtpd
receiver (peers.SmtpReceiver), Postfix's smtp-sink, a DNS server of the
test's own; relayhost, transport_maps and MX routing; per-recipient results,
deferral and retry."""
import email
import email.policy
import os
import re
import subprocess

import pytest

from instance import PREFIX, wait_for
from peers import DnsServer, SmtpReceiver, SmtpSink

ORIGINAL = (b"From: Sender <s@client.test>\r\nTo: r@remote.test\r\nSubject: relay test\r\n"
            b"Message-ID: <relay-1@client.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
            b"first line\r\n.leading dot\r\n..two dots\r\nlast line\r\n")


def relay_to(inst, port):
    inst.set(relayhost=f"[127.0.0.1]:{port}")


def log_lines(inst, pattern):
    return [line for line in inst.log().splitlines() if re.search(pattern, line)]


def test_relayhost_delivers_byte_exact(make_instance):
    with SmtpReceiver(pipelining=True) as mx:
        inst = make_instance()
        relay_to(inst, mx.port)
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], ORIGINAL)
        msg = mx.wait_messages(1)[0]
        inst.wait_queue_empty()
    assert msg.mail_from == "s@client.test"
    assert msg.rcpt_tos == ["r@remote.test"]
    assert msg.data.endswith(ORIGINAL), msg.data  # after our Received: header, unchanged
    assert msg.data.startswith(b"Received: ")
    sent = log_lines(inst, r"kurir/smtp\[\d+\]: \w+: to=<r@remote.test>, relay=127.0.0.1\[127.0.0.1\]:%d, "
                           r"delay=[\d.]+, delays=[\d./]+, dsn=2.0.0, status=sent \(250 " % mx.port)
    assert len(sent) == 1, inst.log()


def test_pipelined_and_not_pipelined_per_recipient_results(make_instance):
    for pipelining in (True, False):
        with SmtpReceiver(pipelining=pipelining, rcpt_reply={"bad@remote.test": "550 5.1.1 No such user",
                                                           "later@remote.test": "451 4.2.0 Try later"}) as mx:
            inst = make_instance()
            relay_to(inst, mx.port)
            inst.start()
            inst.send("s@client.test", ["a@remote.test", "bad@remote.test", "later@remote.test", "b@remote.test"],
                      ORIGINAL)
            msg = mx.wait_messages(1)[0]
            assert msg.rcpt_tos == ["a@remote.test", "b@remote.test"]
            assert mx.sessions[0].pipelined == pipelining
            wait_for(lambda: log_lines(inst, r"to=<later@remote.test>.*status=deferred"), 20, "deferral")
            assert log_lines(inst, r"to=<bad@remote.test>.*dsn=5.1.1, status=bounced \(host 127.0.0.1\[127.0.0.1\] "
                                   r"said: 550 5.1.1 No such user \(in reply to RCPT TO command\)\)")
            inst.destroy()


def test_mx_lookup_second_mx_when_first_down_and_a_record_without_mx(make_instance):
    zone = {"two.test": {"MX": [(10, "mx1.two.test"), (20, "mx2.two.test")]},
            "mx1.two.test": {"A": ["127.0.0.2"]},   # nothing listens there: refused
            "mx2.two.test": {"A": ["127.0.0.1"]},
            "plain.test": {"A": ["127.0.0.1"]}}
    with DnsServer(zone) as dns, SmtpReceiver() as mx:
        transport = os.path.join("/tmp", f"kurir-transport-{mx.port}")
        inst = make_instance(dns_resolver_address=dns.address)
        path = os.path.join(inst.dir, "transport")
        with open(path, "w") as f:
            f.write(f"two.test smtp:two.test:{mx.port}\nplain.test smtp:plain.test:{mx.port}\n")
        res = subprocess.run(inst._prefix() + [os.path.join(PREFIX, "sbin", "kurir-map"), f"hash:{path}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert res.returncode == 0, res.stderr
        inst.set(transport_maps=f"hash:{path}")
        inst.start()
        inst.send("s@client.test", ["u@two.test"], ORIGINAL)
        inst.send("s@client.test", ["u@plain.test"], ORIGINAL)
        msgs = mx.wait_messages(2)
        inst.wait_queue_empty()
    assert sorted(m.rcpt_tos[0] for m in msgs) == ["u@plain.test", "u@two.test"]
    assert ("two.test", "MX") in dns.queries and ("plain.test", "MX") in dns.queries
    assert log_lines(inst, r"connect to mx1.two.test\[127.0.0.2\]:%d: Connection refused" % mx.port), inst.log()
    assert log_lines(inst, r"to=<u@two.test>, relay=mx2.two.test\[127.0.0.1\]:%d.*status=sent" % mx.port)
    assert log_lines(inst, r"to=<u@plain.test>, relay=plain.test\[127.0.0.1\]:%d.*status=sent" % mx.port)
