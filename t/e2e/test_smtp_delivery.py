"""The smtp delivery agent against real peers on loopback: an aiosmtpd
receiver (peers.SmtpReceiver), Postfix's smtp-sink, a DNS server of the
test's own; relayhost, transport_maps and MX routing; per-recipient results,
deferral and retry."""
import email
import email.policy
import os
import re
import smtplib
import subprocess

import pytest

from instance import PREFIX, wait_for
from peers import DnsServer, PostfixInstance, SmtpReceiver, SmtpSink, postfix_usable

ORIGINAL = (b"From: Sender <s@client.test>\r\nTo: r@remote.test\r\nSubject: relay test\r\n"
            b"Message-ID: <relay-1@client.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
            b"first line\r\n.leading dot\r\n..two dots\r\nlast line\r\n")


def relay_to(inst, port):
    inst.set(relayhost=f"[127.0.0.1]:{port}")


def use_transport_map(inst, text):
    """transport_maps = hash:DIR/transport, built from text with kurir-map."""
    inst.set(transport_maps=inst.build_map("transport", text))


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
        inst = make_instance(dns_resolver_address=dns.address)
        use_transport_map(inst, f"two.test smtp:two.test:{mx.port}\nplain.test smtp:plain.test:{mx.port}\n")
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


def dsn_parts(raw):
    """(notice message, [per-recipient delivery-status blocks]) of a DSN."""
    notice = email.message_from_bytes(raw, policy=email.policy.default)
    assert notice.get_content_type() == "multipart/report"
    assert notice.get_param("report-type") == "delivery-status"
    parts = list(notice.iter_parts())
    status = [p for p in parts if p.get_content_type() == "message/delivery-status"]
    assert len(status) == 1
    blocks = [dict(b.items()) for b in status[0].get_payload()]
    return notice, parts, blocks[1:]


def test_550_for_one_of_three_bounces_only_that_one(make_instance):
    with SmtpReceiver(pipelining=True, rcpt_reply={"bad@remote.test": "550 5.1.1 <bad@remote.test>: no such user"}) as mx:
        inst = make_instance()
        relay_to(inst, mx.port)
        inst.start()
        inst.send("amy@mx.test", ["a@remote.test", "bad@remote.test", "b@remote.test"], ORIGINAL)
        msg = mx.wait_messages(1)[0]
        bounce = inst.wait_delivered("amy", 1)
        inst.wait_queue_empty()
    assert msg.rcpt_tos == ["a@remote.test", "b@remote.test"]
    raw = open(bounce[0], "rb").read()
    assert raw.startswith(b"Return-Path: <>\n")
    notice, parts, blocks = dsn_parts(raw)
    assert notice["Subject"] == "Undelivered Mail Returned to Sender"
    assert len(blocks) == 1
    block = blocks[0]
    assert block["Final-Recipient"] == "rfc822; bad@remote.test"
    assert block["Action"] == "failed"
    assert block["Status"] == "5.1.1"
    assert block["Diagnostic-Code"] == "smtp; 550 5.1.1 <bad@remote.test>: no such user"
    assert block["Remote-MTA"] == "dns; 127.0.0.1"
    returned = [p for p in parts if p.get_content_type() == "message/rfc822"]
    assert returned and returned[0].get_payload()[0]["Subject"] == "relay test"
    assert log_lines(inst, r"sender non-delivery notification: \w+")


def test_451_defers_lists_reason_retries_and_delivers_once(make_instance):
    attempts = []

    def data_reply(n):
        attempts.append(n)
        return "451 4.3.0 Try again later" if len(attempts) <= 2 else None

    with SmtpReceiver(data_reply=data_reply) as mx:
        inst = make_instance()
        relay_to(inst, mx.port)
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], ORIGINAL)
        wait_for(lambda: inst.queue_files("deferred"), 20, "a deferred message")
        listing = subprocess.run(inst.submitter() + [os.path.join(PREFIX, "sbin", "kurir-queue"), "-c", inst.dir,
                                                     "-p"], stdout=subprocess.PIPE, text=True).stdout
        msgs = mx.wait_messages(1, timeout=30)
        inst.wait_queue_empty()
    assert "451 4.3.0 Try again later (in reply to end of DATA command)" in listing, listing
    assert len(msgs) == 1 and len(attempts) == 3
    assert len(log_lines(inst, r"to=<r@remote.test>.*status=deferred")) == 2
    assert len(log_lines(inst, r"to=<r@remote.test>.*status=sent")) == 1


def test_queue_lifetime_expiry_bounces_and_double_bounce_goes_to_postmaster(make_instance):
    with SmtpReceiver(data_reply=lambda n: "451 4.3.0 Never today") as mx:
        # Sender at a remote site that refuses it: the bounce itself cannot
        # be delivered and becomes a double bounce to postmaster.
        inst = make_instance(maximal_queue_lifetime="2s", bounce_queue_lifetime="0s")
        relay_to(inst, mx.port)
        inst.start()
        inst.send("someone@remote.test", ["r@remote.test"], ORIGINAL)
        wait_for(lambda: log_lines(inst, r"postmaster non-delivery notification"), 40, "a double bounce")
        inst.wait_queue_empty(timeout=40)
    expired = log_lines(inst, r"to=<r@remote.test>.*status=expired, returned to sender \(host 127.0.0.1")
    assert expired, inst.log()
    assert log_lines(inst, r"sender non-delivery notification")
    # The double bounce went to postmaster (an alias of root in the stock
    # aliases, delivered locally) from double-bounce@, and nothing more.
    assert len(log_lines(inst, r"postmaster non-delivery notification")) == 1
    assert log_lines(inst, r"from=<double-bounce@mx.test>")


def test_peer_drops_connection_mid_data_message_delivered_later_once(make_instance):
    with SmtpReceiver(drop_in_data=1) as mx:
        inst = make_instance()
        relay_to(inst, mx.port)
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], ORIGINAL)
        msgs = mx.wait_messages(1, timeout=30)
        inst.wait_queue_empty()
    assert len(msgs) == 1 and msgs[0].data.endswith(ORIGINAL)
    assert log_lines(inst, r"status=deferred \(lost connection with 127.0.0.1\[127.0.0.1\] while sending message body\)")


def test_peer_stalls_past_timeout_message_delivered_later_once(make_instance):
    with SmtpReceiver(stall_in_data=1, stall_in_data_seconds=30) as mx:
        inst = make_instance(smtp_data_done_timeout="2s")
        relay_to(inst, mx.port)
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], ORIGINAL)
        msgs = mx.wait_messages(1, timeout=40)
        inst.wait_queue_empty()
    assert len(msgs) == 1
    assert log_lines(inst, r"status=deferred \(conversation with 127.0.0.1\[127.0.0.1\] timed out while sending message body\)")


def test_starttls_may_verify_and_encrypt_without_tls(make_instance):
    with SmtpReceiver(tls=True) as mx:
        inst = make_instance(smtp_tls_security_level="verify", smtp_tls_CAfile=mx.ca_file)
        inst.set(relayhost=f"[localhost]:{mx.port}")
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], ORIGINAL)
        msg = mx.wait_messages(1)[0]
        inst.wait_queue_empty()
    assert msg.tls
    assert log_lines(inst, r"Verified TLS connection established to localhost\[127.0.0.1\]:%d: TLSv1.[23] with cipher" % mx.port)

    with SmtpReceiver(tls=True) as mx:  # opportunistic: no CA, still encrypted
        inst3 = make_instance(smtp_tls_security_level="may")
        relay_to(inst3, mx.port)
        inst3.start()
        inst3.send("s@client.test", ["r@remote.test"], ORIGINAL)
        assert mx.wait_messages(1)[0].tls
        assert log_lines(inst3, r"Untrusted TLS connection established to 127.0.0.1\[127.0.0.1\]:%d" % mx.port)

    with SmtpReceiver(tls=True) as mx:  # verify against the wrong CA: deferred, never sent in clear
        inst4 = make_instance(smtp_tls_security_level="verify", smtp_tls_CAfile="/etc/ssl/certs/ca-certificates.crt")
        inst4.set(relayhost=f"[localhost]:{mx.port}")
        inst4.start()
        inst4.send("s@client.test", ["r@remote.test"], ORIGINAL)
        wait_for(lambda: log_lines(inst4, r"status=deferred \(server certificate verification failed for "
                                          r"localhost\[127.0.0.1\]"), 20, "a verification deferral")
        assert not mx.messages

    with SmtpReceiver(tls=False) as plain:
        inst2 = make_instance(smtp_tls_security_level="encrypt")
        relay_to(inst2, plain.port)
        inst2.start()
        inst2.send("s@client.test", ["r@remote.test"], ORIGINAL)
        wait_for(lambda: log_lines(inst2, r"status=deferred \(TLS is required, but was not offered by host "
                                          r"127.0.0.1\[127.0.0.1\]\)"), 20, "a TLS deferral")
        assert not plain.messages


def test_smtp_loads_openssl_only_for_tls_and_before_a_chroot(make_instance):
    """libssl and libcrypto cost every process that maps them about 0.5 MB
    of relocated data: smtp loads them when smtp_tls_security_level asks
    for TLS, before privileges go (and a chroot, where they are not)."""
    with SmtpReceiver(tls=False) as mx:
        plain = make_instance()
        relay_to(plain, mx.port)
        plain.start()
        plain.send("s@client.test", ["r@remote.test"], ORIGINAL)
        mx.wait_messages(1)
        plain.wait_queue_empty()
        assert not any(wait_for(lambda: plain.maps("smtp", "libssl"), what="a live smtp process"))
    with SmtpReceiver(tls=True) as mx:
        inst = make_instance(smtp_tls_security_level="may")
        relay_to(inst, mx.port)
        if inst.mode == "root":
            inst.chroot("smtp")
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], ORIGINAL)
        assert mx.wait_messages(1)[0].tls
        inst.wait_queue_empty()
        wait_for(lambda: (m := inst.maps("smtp", "libssl")) and all(m), what="a live smtp process with libssl")
        if inst.mode == "root":
            queue = os.path.realpath(os.path.join(inst.dir, "queue"))
            roots = [os.readlink(f"/proc/{pid}/root") for pid in inst.pids("smtp")]
            assert roots and all(root == queue for root in roots), roots


def test_concurrency_limit_per_destination(make_instance):
    n = 10
    with SmtpReceiver(pipelining=True) as mx:
        inst = make_instance(smtp_destination_concurrency_limit="3")
        relay_to(inst, mx.port)
        mx.hold()  # every transaction waits at its final "." until released
        inst.start()
        with inst.smtp() as s:
            for i in range(n):
                s.sendmail("s@client.test", [f"r{i}@remote.test"], ORIGINAL)
        wait_for(lambda: len(inst.queue_files("active")) == n, 30, "all messages in active/")
        mx.wait_for(lambda: mx.waiting_at_gate >= 3, "3 transactions at the gate")
        mx.release()
        mx.wait_messages(n, timeout=60)
        inst.wait_queue_empty()
    assert mx.max_at_gate == 3


def test_many_messages_reuse_connections(make_instance):
    n = 5000
    with SmtpReceiver(pipelining=True) as mx:
        inst = make_instance()
        relay_to(inst, mx.port)
        inst.start()
        with inst.smtp() as s:
            for i in range(n):
                s.sendmail("s@client.test", [f"r{i}@remote.test"], ORIGINAL)
        mx.wait_messages(n, timeout=120)
        inst.wait_queue_empty()
    assert sorted(m.rcpt_tos[0] for m in mx.messages) == sorted(f"r{i}@remote.test" for i in range(n))
    assert mx.connections <= n // 10, f"{mx.connections} connections for {n} messages"
    assert log_lines(inst, r"conn_use=\d+")


def test_relay_to_smtp_sink(make_instance):
    with SmtpSink() as sink:
        inst = make_instance()
        relay_to(inst, sink.port)
        inst.start()
        for i in range(20):
            inst.send("s@client.test", [f"r{i}@remote.test"], ORIGINAL)
        sink.wait_count(20, timeout=60)
        inst.wait_queue_empty()
        got = sink.messages()
    assert len(got) == 20
    assert all(m.data.replace(b"\r\n", b"\n").endswith(ORIGINAL.replace(b"\r\n", b"\n")) for m in got)


def test_dsn_notify_ret_envid_orcpt(make_instance):
    """RCPT NOTIFY/ORCPT and MAIL RET/ENVID (RFC 3461): a success notice for
    the local recipient that asked, a headers-only failure notice for the
    remote one, none for NOTIFY=NEVER; a DSN-capable next hop gets the
    parameters passed on."""
    with SmtpReceiver(pipelining=True, extra_ehlo=["DSN"],
                      rcpt_reply={"bad@remote.test": "550 5.1.1 no such user",
                                  "quiet@remote.test": "550 5.1.1 no such user"}) as mx:
        inst = make_instance()
        relay_to(inst, mx.port)
        inst.start()
        with inst.smtp() as s:
            s.ehlo("client.test")
            assert s.has_extn("dsn")
            s.mail("amy@mx.test", ["RET=HDRS", "ENVID=QQ+2B314"])
            assert s.rcpt("bob@mx.test", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Bob+2Bold@client.test"])[0] == 250
            assert s.rcpt("bad@remote.test", ["NOTIFY=FAILURE"])[0] == 250
            assert s.rcpt("quiet@remote.test", ["NOTIFY=NEVER"])[0] == 250
            assert s.rcpt("fwd@remote.test", ["NOTIFY=SUCCESS", "ORCPT=rfc822;fwd@client.test"])[0] == 250
            assert s.rcpt("x@remote.test", ["NOTIFY=SOMETIMES"])[0] == 501
            assert s.data(ORIGINAL)[0] == 250
        inst.wait_delivered("bob", 1)
        notices = inst.wait_delivered("amy", 2)
        inst.wait_queue_empty()
        relayed = mx.wait_messages(1)[0]
    assert relayed.rcpt_tos == ["fwd@remote.test"]
    assert "RET=HDRS" in relayed.mail_options and "ENVID=QQ+2B314" in relayed.mail_options
    assert "NOTIFY=SUCCESS" in relayed.rcpt_options
    assert "ORCPT=RFC822;FWD@CLIENT.TEST" in relayed.rcpt_options  # aiosmtpd uppercases
    kinds = {}
    for path in notices:
        notice, parts, blocks = dsn_parts(open(path, "rb").read())
        kinds[notice["Subject"]] = (notice, parts, blocks)
    assert set(kinds) == {"Undelivered Mail Returned to Sender", "Successful Mail Delivery Report"}
    notice, parts, blocks = kinds["Undelivered Mail Returned to Sender"]
    assert [b["Final-Recipient"] for b in blocks] == ["rfc822; bad@remote.test"]  # not quiet@
    assert "text/rfc822-headers" in [p.get_content_type() for p in parts]  # RET=HDRS
    report = [p for p in parts if p.get_content_type() == "message/delivery-status"][0]
    assert report.get_payload()[0]["Original-Envelope-Id"] == "QQ+314"
    notice, parts, blocks = kinds["Successful Mail Delivery Report"]
    assert len(blocks) == 1 and blocks[0]["Action"] == "delivered"
    assert blocks[0]["Final-Recipient"] == "rfc822; bob@mx.test"
    assert blocks[0]["Original-Recipient"] == "rfc822; Bob+old@client.test"


def test_delay_warning_once_then_delivery(make_instance):
    attempts = []

    def data_reply(n):
        attempts.append(n)
        return "451 4.3.0 Busy" if len(attempts) <= 3 else None

    with SmtpReceiver(data_reply=data_reply) as mx:
        inst = make_instance(delay_warning_time="1s")
        relay_to(inst, mx.port)
        inst.start()
        inst.send("amy@mx.test", ["r@remote.test"], ORIGINAL)
        mx.wait_messages(1, timeout=40)
        inst.wait_queue_empty()
    warnings = inst.maildir_files("amy")
    assert len(warnings) == 1, inst.log()  # once, though deferred several times
    notice, parts, blocks = dsn_parts(open(warnings[0], "rb").read())
    assert notice["Subject"] == "Delayed Mail (still being retried)"
    assert blocks[0]["Action"] == "delayed" and blocks[0]["Status"] == "4.3.0"
    assert "Will-Retry-Until" in blocks[0]
    assert log_lines(inst, r"sender delay notification: \w+")


@pytest.mark.skipif(not postfix_usable(), reason="a private Postfix needs root and Debian's postfix")
def test_interop_with_postfix_both_directions(make_instance):
    inst = make_instance()
    inst.set(mydestination="$myhostname, localhost, to-kurir.test")
    with PostfixInstance(transport={"to-kurir.test": f"smtp:[127.0.0.1]:{inst.port}"}) as pf:
        relay_to(inst, pf.port)
        inst.start()
        # kurir -> Postfix: Postfix's local appends it to its mbox.
        inst.send("s@client.test", ["sink@pf.test"], ORIGINAL)
        wait_for(lambda: os.path.exists(pf.mbox_path) and b"last line" in open(pf.mbox_path, "rb").read(), 30,
                 "Postfix's delivery")
        mbox = open(pf.mbox_path, "rb").read()
        assert ORIGINAL.replace(b"\r\n", b"\n") in mbox, mbox
        assert b"by mx.test (kurir)" in mbox and b"by pf.test (Postfix)" in mbox
        # Postfix -> kurir: Postfix's smtp client relays it to kurir's Maildir.
        with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as s:
            s.sendmail("p@client.test", ["amy@to-kurir.test"], ORIGINAL)
        files = inst.wait_delivered("amy", 1)
        got = open(files[0], "rb").read()
        assert got.endswith(ORIGINAL.replace(b"\r\n", b"\n")), got
        assert b"by pf.test (Postfix)" in got and b"by mx.test (kurir)" in got
        pf_log = pf.log()
    assert re.search(r"to=<amy@to-kurir.test>, relay=127.0.0.1\[127.0.0.1\]:%d.*status=sent" % inst.port, pf_log)
    assert log_lines(inst, r"to=<sink@pf.test>, relay=127.0.0.1\[127.0.0.1\]:%d.*status=sent" % pf.port)


def test_recipient_limit_per_transaction_on_one_connection(make_instance):
    """qmgr splits requests by <transport>_destination_recipient_limit; the
    agent batches a larger request itself, on one connection: here the relay
    transport (qmgr's default limit, 50) through an agent limited to 2."""
    with SmtpReceiver(pipelining=True) as mx:
        inst = make_instance(smtp_destination_recipient_limit="2")
        use_transport_map(inst, f"remote.test relay:[127.0.0.1]:{mx.port}\n")
        inst.start()
        rcpts = [f"r{i}@remote.test" for i in range(5)]
        inst.send("s@client.test", rcpts, ORIGINAL)
        msgs = mx.wait_messages(3)
        inst.wait_queue_empty()
    assert [len(m.rcpt_tos) for m in msgs] == [2, 2, 1]
    assert sorted(r for m in msgs for r in m.rcpt_tos) == rcpts
    assert mx.connections == 1


def test_dead_site_holds_its_mail_and_drains_on_flush(make_instance):
    from instance import free_port
    port = free_port()  # nothing listens here yet
    inst = make_instance(minimal_backoff_time="300s", maximal_backoff_time="600s")
    relay_to(inst, port)
    inst.start()
    inst.send("s@client.test", ["first@remote.test"], ORIGINAL)
    wait_for(lambda: len(inst.queue_files("deferred")) == 1, 30, "the first message deferred")
    with inst.smtp() as s:  # mail that comes after the site failed waits without trying
        for i in range(4):
            s.sendmail("s@client.test", [f"r{i}@remote.test"], ORIGINAL)
    wait_for(lambda: len(inst.queue_files("deferred")) == 5, 30, "five deferred messages")
    refused = log_lines(inst, r"status=deferred \(connect to 127.0.0.1\[127.0.0.1\]:%d: Connection refused" % port)
    held = log_lines(inst, r"status=deferred \(delivery temporarily suspended: connect to 127.0.0.1")
    assert len(refused) == 1 and len(held) == 4, inst.log()
    with SmtpReceiver(port=port) as mx:
        inst.kurir("flush")
        mx.wait_messages(5, timeout=30)
        inst.wait_queue_empty()


def test_reload_during_deliveries_delivers_each_message_once(make_instance):
    n = 5
    with SmtpReceiver(pipelining=True) as mx:
        inst = make_instance()
        relay_to(inst, mx.port)
        mx.hold()  # every transaction waits at its final "."
        inst.start()
        with inst.smtp() as s:
            for i in range(n):
                s.sendmail("s@client.test", [f"r{i}@remote.test"], ORIGINAL)
        mx.wait_for(lambda: mx.waiting_at_gate == n, f"{n} transactions at the gate")
        old_qmgr = inst.pids("qmgr")
        inst.kurir("reload")
        # The old qmgr waits for its deliveries' results; the next one starts
        # only after it (a qmgr that recovered active/ meanwhile would send
        # every message again).
        wait_for(lambda: log_lines(inst, r"qmgr\[%d\]: reload: exiting once the work in flight is done" % old_qmgr[0]),
                 10, "the old qmgr draining")
        mx.release()
        mx.wait_messages(n)
        inst.wait_queue_empty()
        wait_for(lambda: inst.pids("qmgr") and inst.pids("qmgr") != old_qmgr, 30, "the next qmgr")
        mx.wait_idle()
    assert sorted(m.rcpt_tos[0] for m in mx.messages) == sorted(f"r{i}@remote.test" for i in range(n))
    assert len(log_lines(inst, r"status=sent")) == n


class ScriptedServer:
    """A raw SMTP server on loopback for misbehaviour aiosmtpd will not do:
    answer(command_line) gives the reply bytes for each command (None: the
    default), and the message body is swallowed up to the ".". Records the
    commands it got."""

    def __init__(self, answer, greeting=lambda n: b"220 scripted ESMTP\r\n"):
        import socket
        import threading
        self.answer = answer
        self.greeting = greeting
        self.connections = 0
        self.commands = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                f = conn.makefile("rb")
                self.connections += 1
                greeting = self.greeting(self.connections)
                conn.sendall(greeting)
                if not greeting.startswith(b"220"):
                    f.readline()  # the client's QUIT, if any
                    continue
                in_data = False
                for line in f:
                    if in_data:
                        if line == b".\r\n":
                            in_data = False
                            conn.sendall(self.answer(".") or b"250 2.0.0 Ok\r\n")
                        continue
                    cmd = line.decode(errors="replace").strip()
                    self.commands.append(cmd)
                    reply = self.answer(cmd)
                    if reply is None:
                        verb = cmd.split(" ")[0].upper()
                        reply = {"EHLO": b"250-scripted\r\n250 PIPELINING\r\n", "DATA": b"354 go\r\n",
                                 "QUIT": b"221 bye\r\n"}.get(verb, b"250 2.0.0 Ok\r\n")
                    conn.sendall(reply)
                    if reply.startswith(b"354"):
                        in_data = True
                    if cmd.upper() == "QUIT":
                        break

    def close(self):
        self.sock.close()


def test_250_to_data_and_extra_replies_never_count_as_delivered(make_instance):
    # DATA answered with 250 (no 354): the body was never sent.
    server = ScriptedServer(lambda cmd: b"250 2.0.0 Sure\r\n" if cmd == "DATA" else None)
    inst = make_instance()
    relay_to(inst, server.port)
    inst.start()
    inst.send("s@client.test", ["r@remote.test"], ORIGINAL)
    wait_for(lambda: log_lines(inst, r"to=<r@remote.test>.*status=deferred \(bad reply from 127.0.0.1\[127.0.0.1\]: "
                                     r"DATA answered with 250"), 20, "a deferral")
    assert not log_lines(inst, r"status=sent")
    server.close()

    # Two replies to ".": the transaction that follows on this connection
    # must not take the stray one for its MAIL reply.
    server = ScriptedServer(lambda cmd: b"250 2.0.0 Ok\r\n250 2.0.0 Extra\r\n" if cmd == "." else None)
    inst2 = make_instance(smtp_destination_recipient_limit="1")
    relay_to(inst2, server.port)
    inst2.start()
    inst2.send("s@client.test", ["a@remote.test", "b@remote.test"], ORIGINAL)
    inst2.wait_queue_empty()
    sent = log_lines(inst2, r"status=sent")
    assert len(sent) == 2 and all("(250 2.0.0 Ok)" in line for line in sent), inst2.log()
    assert server.commands.count("QUIT") + len(log_lines(inst2, r"more replies than commands")) >= 1
    # Each transaction began on a connection in step: MAIL right after EHLO.
    mails = [i for i, c in enumerate(server.commands) if c.startswith("MAIL")]
    assert all(server.commands[i - 1].startswith("EHLO") for i in mails), server.commands
    server.close()


def test_4xx_greeting_moves_on_to_the_next_mx(make_instance):
    # Both MX hosts are this one server: it refuses the first session only.
    server = ScriptedServer(lambda cmd: None,
                            greeting=lambda n: b"421 4.3.2 busy\r\n" if n == 1 else b"220 scripted ESMTP\r\n")
    zone = {"busy.test": {"MX": [(10, "mx1.busy.test"), (20, "mx2.busy.test")]},
            "mx1.busy.test": {"A": ["127.0.0.1"]}, "mx2.busy.test": {"A": ["127.0.0.1"]}}
    with DnsServer(zone) as dns:
        inst = make_instance(dns_resolver_address=dns.address)
        inst.set(relayhost=f"busy.test:{server.port}")
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], ORIGINAL)
        inst.wait_queue_empty()
    server.close()
    assert log_lines(inst, r"host mx1.busy.test\[127.0.0.1\] refused to talk to me: 421 4.3.2 busy")
    assert log_lines(inst, r"to=<r@remote.test>, relay=mx2.busy.test\[127.0.0.1\]:%d.*status=sent" % server.port)
