"""The test peers of peers.py, checked with real clients: dnslib's DNS
client, Python's smtplib, swaks and a raw socket."""
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import dnslib
import pytest

from peers import DnsServer, SmtpReceiver, SmtpSink, free_port, tls_files
from smtp_raw import RawSMTP

ZONE = {
    "example.test": {"MX": [(10, "mx1.example.test"), (20, "mx2.example.test")]},
    "mx1.example.test": {"A": ["127.0.0.1"]},
    "mx2.example.test": {"A": ["127.0.0.2"], "AAAA": ["::1"]},
    "noMX.test": {"A": ["127.0.0.1"]},
    "alias.test": {"CNAME": "mx1.example.test"},
    "null.test": {"MX": [(0, ".")]},
    "broken.test": "SERVFAIL",
    "halfbroken.test": {"A": ["127.0.0.1"], "MX": "SERVFAIL"},
    "silent.test": "DROP",
}

MSG = (b"From: a@src.test\r\nTo: b@example.test\r\nSubject: peers\r\n\r\n"
       b".leading dot\r\n..two dots\r\n.\r\nlast line\r\n")


def ask(dns, name, qtype, tcp=False, timeout=2):
    q = dnslib.DNSRecord.question(name, qtype)
    return dnslib.DNSRecord.parse(q.send("127.0.0.1", dns.port, tcp=tcp, timeout=timeout))


def rcode(reply):
    return dnslib.RCODE[reply.header.rcode]


def client_ctx(ca_file):
    return ssl.create_default_context(cafile=ca_file)


def swaks(port, *args):
    return subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--from", "a@src.test",
                           "--to", "b@example.test", "--timeout", "5", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)


# -- DNS ----------------------------------------------------------------------

@pytest.fixture
def dns():
    with DnsServer(ZONE) as server:
        yield server


def test_dns_mx_a_nodata_nxdomain(dns):
    assert dns.address == f"127.0.0.1:{dns.port}"
    mx = ask(dns, "example.test", "MX")
    assert rcode(mx) == "NOERROR"
    assert sorted((rr.rdata.preference, str(rr.rdata.label)) for rr in mx.rr) == \
        [(10, "mx1.example.test."), (20, "mx2.example.test.")]
    a = ask(dns, "MX1.Example.TEST.", "A")  # case-insensitive
    assert [str(rr.rdata) for rr in a.rr] == ["127.0.0.1"]
    assert [str(rr.rdata) for rr in ask(dns, "mx2.example.test", "AAAA").rr] == ["::1"]
    nodata = ask(dns, "nomx.test", "MX")
    assert rcode(nodata) == "NOERROR" and nodata.rr == []
    assert nodata.auth and nodata.auth[0].rtype == dnslib.QTYPE.SOA
    nx = ask(dns, "nowhere.test", "A")
    assert rcode(nx) == "NXDOMAIN" and nx.rr == []
    assert dns.queries == [("example.test", "MX"), ("mx1.example.test", "A"), ("mx2.example.test", "AAAA"),
                           ("nomx.test", "MX"), ("nowhere.test", "A")]


def test_dns_tcp_same_port(dns):
    reply = ask(dns, "example.test", "MX", tcp=True)
    assert len(reply.rr) == 2
    assert dns.query_log == [("example.test", "MX", "tcp")]


def test_dns_cname_null_mx_failures(dns):
    reply = ask(dns, "alias.test", "A")
    assert [(dnslib.QTYPE[rr.rtype], str(rr.rdata)) for rr in reply.rr] == \
        [("CNAME", "mx1.example.test."), ("A", "127.0.0.1")]
    null = ask(dns, "null.test", "MX")
    assert [(rr.rdata.preference, str(rr.rdata.label)) for rr in null.rr] == [(0, ".")]
    assert rcode(ask(dns, "broken.test", "MX")) == "SERVFAIL"
    assert rcode(ask(dns, "halfbroken.test", "MX")) == "SERVFAIL"
    assert rcode(ask(dns, "halfbroken.test", "A")) == "NOERROR"
    with pytest.raises(socket.timeout):
        ask(dns, "silent.test", "A", timeout=0.3)
    dns.wait_query("silent.test", "A")


def test_dns_zone_changes_and_restart(dns):
    dns.set("new.test", "MX", [(5, "mx1.example.test")])
    assert len(ask(dns, "new.test", "MX").rr) == 1
    dns.remove("new.test")
    assert rcode(ask(dns, "new.test", "MX")) == "NXDOMAIN"
    port = dns.port
    dns.stop()
    with pytest.raises(ConnectionRefusedError):
        ask(dns, "example.test", "MX", tcp=True)
    dns.start()
    assert dns.port == port
    assert len(ask(dns, "example.test", "MX").rr) == 2


def test_dns_bad_zone_entry_is_servfail():
    with DnsServer({"bad.test": {"MX": [("x", "mx")]}}) as dns:
        assert rcode(ask(dns, "bad.test", "MX")) == "SERVFAIL"
        assert "bad.test" in dns.errors[0]


def test_dns_udp_truncate_forces_tcp():
    with DnsServer(ZONE, udp_truncate=True) as dns:
        udp = ask(dns, "example.test", "MX")
        assert udp.header.tc == 1 and udp.rr == []
        assert len(ask(dns, "example.test", "MX", tcp=True).rr) == 2
        assert [p for _, _, p in dns.query_log] == ["udp", "tcp"]


# -- SMTP receiver -------------------------------------------------------------

def test_receiver_plain_smtplib():
    with SmtpReceiver() as mx:
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
            s.ehlo("client.test")
            assert s.has_extn("pipelining") and not s.has_extn("starttls")
            s.sendmail("a@src.test", ["b@example.test", "c@example.test"], MSG)
        (msg,) = mx.wait_messages(1)
        assert msg.mail_from == "a@src.test"
        assert msg.rcpt_tos == ["b@example.test", "c@example.test"]
        assert msg.data == MSG
        assert not msg.tls and msg.helo == "client.test" and msg.esmtp
        assert msg.peer[0] == "127.0.0.1"
        mx.wait_idle()
        assert (mx.connections, mx.max_concurrent, mx.transactions) == (1, 1, 1)
        assert mx.sessions[0].quit and not mx.sessions[0].pipelined
        assert mx.sessions[0].commands[0] == "EHLO client.test"


def test_receiver_starttls_verified():
    with SmtpReceiver(tls=True, require_starttls=True) as mx:
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
            s.ehlo("client.test")
            assert s.has_extn("starttls")
            assert s.mail("a@src.test")[0] == 530
            s.starttls(context=client_ctx(mx.ca_file))  # verifies 127.0.0.1 against the IP SAN
            s.sendmail("a@src.test", ["b@example.test"], MSG)
        for name in ("localhost", "mx1.example.test"):
            with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
                s._host = name  # the name starttls() verifies the certificate against
                s.starttls(context=client_ctx(mx.ca_file))
                s.sendmail("a@src.test", ["b@example.test"], MSG)
        msgs = mx.wait_messages(3)
        assert all(m.tls and m.data == MSG for m in msgs)


def test_receiver_tls_wrong_name_and_unknown_ca():
    with SmtpReceiver(tls=True, cert_names=["elsewhere.test"]) as mx:
        assert mx.ca_file == tls_files().ca_file  # one CA for every certificate
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
            with pytest.raises(ssl.SSLCertVerificationError):
                s.starttls(context=client_ctx(mx.ca_file))
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
            with pytest.raises(ssl.SSLCertVerificationError):
                s.starttls(context=ssl.create_default_context())


def test_receiver_swaks_pipelining():
    with SmtpReceiver() as mx:
        res = swaks(mx.port, "--pipeline")
        assert res.returncode == 0, res.stdout
        (msg,) = mx.wait_messages(1)
        assert not msg.tls and msg.rcpt_tos == ["b@example.test"]
        mx.wait_idle()
        assert mx.sessions[0].pipelined


def swaks_has_tls():
    return subprocess.run(["perl", "-MNet::SSLeay", "-e1"], stderr=subprocess.DEVNULL).returncode == 0


@pytest.mark.skipif(not swaks_has_tls(), reason="swaks STARTTLS needs Net::SSLeay (libnet-ssleay-perl)")
def test_receiver_swaks_starttls():
    with SmtpReceiver(tls=True) as mx:
        res = swaks(mx.port, "--tls", "--tls-verify", "--tls-ca-path", mx.ca_file, "--pipeline")
        assert res.returncode == 0, res.stdout
        (msg,) = mx.wait_messages(1)
        assert msg.tls


def test_receiver_rcpt_reply():
    with SmtpReceiver(rcpt_reply={"Bad@Example.test": "550 5.1.1 No such user"}) as mx:
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
            refused = s.sendmail("a@src.test", ["b@example.test", "bad@example.test"], MSG)
        assert refused == {"bad@example.test": (550, b"5.1.1 No such user")}
        (msg,) = mx.wait_messages(1)
        assert msg.rcpt_tos == ["b@example.test"]
        assert mx.rejected_rcpts == [("bad@example.test", "550 5.1.1 No such user")]


def test_receiver_greeting_refusal():
    with SmtpReceiver(greeting_reply="421 4.3.2 go away") as mx:
        with pytest.raises(smtplib.SMTPConnectError) as e:
            smtplib.SMTP("127.0.0.1", mx.port, timeout=5)
        assert e.value.smtp_code == 421
        mx.wait_idle()
        assert mx.connections == 1 and mx.transactions == 0
    # refuse the first connection only; a 554 greeting waits for QUIT
    with SmtpReceiver(greeting_reply=lambda n: "554 5.7.1 not you" if n == 1 else None) as mx:
        with RawSMTP(mx.port, timeout=5) as c:
            assert c.reply()[0] == 554
            assert c.cmd("EHLO client.test")[0] == 503
            assert c.cmd("QUIT")[0] == 221
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
            s.sendmail("a@src.test", ["b@example.test"], MSG)
        mx.wait_messages(1)
        assert mx.connections == 2


def test_receiver_banner_mail_reply_and_slow_greeting():
    banner = "220-mx1.example.test first line\r\n220 mx1.example.test ESMTP"
    with SmtpReceiver(greeting_reply=banner, stall_greeting_seconds=0.2,
                      mail_reply=lambda sender: "553 5.7.1 no" if sender.startswith("spam") else None) as mx:
        start = time.monotonic()
        with RawSMTP(mx.port, timeout=5) as c:
            code, text = c.reply()
            assert time.monotonic() - start >= 0.2
            assert (code, text) == (220, banner.replace("\r\n", "\n"))
            assert c.cmd("HELO client.test")[0] == 250
            assert c.cmd("MAIL FROM:<spam@src.test>")[0] == 553
            assert c.cmd("MAIL FROM:<a@src.test>")[0] == 250
        assert mx.transactions == 1


def test_receiver_drop_under_tls():
    with SmtpReceiver(tls=True, drop_in_data=True) as mx:
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
            s.starttls(context=client_ctx(mx.ca_file))
            with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError, ssl.SSLError)):
                s.sendmail("a@src.test", ["b@example.test"], MSG)
        mx.wait_idle()
        assert mx.sessions[0].dropped and mx.sessions[0].tls and mx.messages == []


def test_receiver_data_reply_then_accept():
    with SmtpReceiver(data_reply=lambda n: "451 4.3.0 try later" if n <= 2 else None) as mx:
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
            for _ in range(2):
                with pytest.raises(smtplib.SMTPDataError) as e:
                    s.sendmail("a@src.test", ["b@example.test"], MSG)
                assert e.value.smtp_code == 451
            s.sendmail("a@src.test", ["b@example.test"], MSG)
        (msg,) = mx.wait_messages(1)
        assert msg.attempt == 3
        assert [m.reply for m in mx.rejected] == ["451 4.3.0 try later"] * 2
        assert mx.transactions == 3 and mx.data_attempts == 3


def test_receiver_drop_in_data():
    with SmtpReceiver(drop_in_data=1) as mx:
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
            with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError)):
                s.sendmail("a@src.test", ["b@example.test"], MSG)
        mx.wait_idle()
        assert mx.messages == [] and mx.sessions[0].dropped
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
            s.sendmail("a@src.test", ["b@example.test"], MSG)
        assert mx.wait_messages(1)[0].attempt == 2


def test_receiver_stall_in_data():
    with SmtpReceiver(stall_in_data_seconds=1.5, stall_in_data=1) as mx:
        s = smtplib.SMTP("127.0.0.1", mx.port, timeout=5)
        s.ehlo("client.test")
        s.sock.settimeout(0.3)
        start = time.monotonic()
        with pytest.raises((socket.timeout, smtplib.SMTPServerDisconnected)):
            s.sendmail("a@src.test", ["b@example.test"], MSG)
        assert time.monotonic() - start < 1.4
        s.close()
        mx.wait_idle()  # the client's close ends the stalled session at once
        assert mx.messages == [] and mx.sessions[0].stalled
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:  # only the first attempt stalls
            s.sendmail("a@src.test", ["b@example.test"], MSG)
        mx.wait_messages(1)


def test_receiver_no_ehlo_falls_back_to_helo():
    with SmtpReceiver(ehlo=False) as mx:
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
            s.sendmail("a@src.test", ["b@example.test"], MSG)
        (msg,) = mx.wait_messages(1)
        assert not msg.esmtp and msg.helo
        assert [c.split()[0] for c in mx.sessions[0].commands[:2]] == ["EHLO", "HELO"]


def test_receiver_pipelining_detected_when_not_offered():
    with SmtpReceiver(pipelining=False) as mx:
        with RawSMTP(mx.port, timeout=5) as c:
            c.reply()
            code, text = c.cmd("EHLO client.test")
            assert code == 250 and "PIPELINING" not in text
            c.send("MAIL FROM:<a@src.test>\r\nRCPT TO:<b@example.test>\r\n")
            assert c.reply()[0] == 250 and c.reply()[0] == 250
            assert c.cmd("QUIT")[0] == 221
        mx.wait_idle()
        assert mx.sessions[0].pipelined


def test_receiver_concurrency_with_hold():
    with SmtpReceiver() as mx:
        mx.hold()
        errors = []

        def send():
            try:
                with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as s:
                    s.sendmail("a@src.test", ["b@example.test"], MSG)
            except Exception as e:  # reported below
                errors.append(e)
        threads = [threading.Thread(target=send) for _ in range(3)]
        for t in threads:
            t.start()
        mx.wait_for(lambda: mx.waiting_at_gate == 3, "3 transactions held in DATA")
        assert mx.active == 3 and mx.messages == []
        mx.release()
        for t in threads:
            t.join(5)
        assert errors == []
        assert len(mx.wait_messages(3)) == 3
        mx.wait_idle()
        assert mx.max_concurrent == 3 and mx.connections == 3


def test_receiver_wait_timeout_is_helpful():
    with SmtpReceiver() as mx:
        with pytest.raises(AssertionError, match=r"1 accepted messages.*0 connections"):
            mx.wait_messages(1, timeout=0.1)


def test_receiver_stop_and_restart():
    mx = SmtpReceiver()
    try:
        port = mx.port
        s = smtplib.SMTP("127.0.0.1", port, timeout=5)
        s.ehlo("client.test")
        mx.stop()  # closes the open session too
        with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError)):
            s.mail("a@src.test")
        s.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        mx.start()
        assert mx.port == port
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as s:
            s.sendmail("a@src.test", ["b@example.test"], MSG)
        mx.wait_messages(1)
        assert mx.connections == 2
    finally:
        mx.stop()


# -- smtp-sink -------------------------------------------------------------------

needs_sink = pytest.mark.skipif(not os.access("/usr/sbin/smtp-sink", os.X_OK), reason="no smtp-sink")


@needs_sink
def test_sink_counts_swaks_and_smtplib():
    with SmtpSink() as sink:
        assert sink.count() == 0 and sink.connections == 0
        res = swaks(sink.port, "--pipeline")
        assert res.returncode == 0, res.stdout
        assert sink.wait_count(1) == 1
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as s:
            s.ehlo("client.test")
            assert s.has_extn("pipelining")
            s.sendmail("a@src.test", ["b@example.test", "c@example.test"], MSG)
            s.sendmail("a@src.test", ["d@example.test"], MSG)
        sink.wait_count(3)
        sink.wait_idle()
        assert sink.connections == 2 and sink.max_concurrent == 1
        msgs = sink.messages()
        assert len(msgs) == 3
        assert msgs[1].rcpt_tos == ["b@example.test", "c@example.test"]
        assert msgs[1].helo == "client.test" and msgs[1].mail_from == "a@src.test"
        assert msgs[1].data == MSG.replace(b"\r\n", b"\n")


@needs_sink
def test_sink_concurrency_and_options():
    with SmtpSink("-f", "RCPT") as sink:
        clients = [smtplib.SMTP("127.0.0.1", sink.port, timeout=5) for _ in range(2)]
        try:
            sink.wait_connections(2)
            assert sink.active == 2
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                clients[0].sendmail("a@src.test", ["b@example.test"], MSG)
        finally:
            for c in clients:
                c.close()
        sink.wait_idle()
        assert sink.max_concurrent == 2 and sink.count() == 0


@needs_sink
def test_sink_wait_timeout_and_stop():
    sink = SmtpSink()
    port = sink.port
    with pytest.raises(AssertionError, match="1 messages"):
        sink.wait_count(1, timeout=0.1)
    sink.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_free_port_is_bindable():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")
def test_tls_files_cached():
    assert tls_files() is tls_files()
    a, b = tls_files(), tls_files(["other.test"])
    assert a.ca_file == b.ca_file and a.cert_file != b.cert_file
    assert all(os.stat(p).st_mode & 0o004 for p in a)
