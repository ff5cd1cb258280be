"""Hostile input on the milter path: what a client's message costs cleanup
when a milter edits it, how much a milter may edit, and how long a milter
may hold a stage. The milter is t/e2e/milter_script.py (pymilter)."""
import socket
import struct
import threading

import pytest

from test_milter import MSG, delivered, log_has, milter_instance, milters, session  # noqa: F401 (milters: a fixture)


def peak_rss(inst, program):
    """The largest VmHWM of the instance's processes named program."""
    peak = 0
    for pid in inst.pids(program):
        try:
            with open(f"/proc/{pid}/status") as f:
                peak = max(peak, next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:")))
        except OSError:
            pass
    return peak


def send_empty_lines(inst, lines):
    """One message of a Subject and lines empty lines, accepted."""
    with session(inst) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        assert s.rcpt("alice@mx.test")[0] == 250
        s.putcmd("DATA")
        assert s.getreply()[0] == 354
        s.send(b"From: s@client.test\r\nSubject: empty lines\r\n" + b"\r\n" * lines + b".\r\n")
        code, text = s.getreply()
        assert code == 250, text


def test_many_short_lines_cost_smtpd_their_bytes_not_a_string_each(make_instance, milters):
    """smtpd keeps the message for the end-of-message stage as one text: 4
    million empty lines (4 MB of message_size_limit) once cost it 32 bytes
    of string each, 128 MB and more; now a few times the message."""
    inst, m = milter_instance(make_instance, milters, "add_header_quiet")
    lines = 4_000_000
    send_empty_lines(inst, lines)
    peak = peak_rss(inst, "smtpd")
    print(f"smtpd peak RSS with {lines} empty lines: {peak >> 20} MB")
    assert 0 < peak < 100 * 1024 * 1024, f"smtpd peaked at {peak >> 20} MB"
    inst.wait_delivered("alice", 1)


def test_many_short_lines_cost_cleanup_their_bytes_not_a_string_each(make_instance, milters):
    """cleanup applies a milter's header edit (an F record) to the finished
    file keeping the body as the file's records: 4 million empty lines (4 MB
    of message_size_limit) once cost it a std::string per line, twice over
    (287 MB; now 22)."""
    inst, m = milter_instance(make_instance, milters, "insert_header_quiet")
    lines = 4_000_000
    send_empty_lines(inst, lines)
    files = inst.wait_delivered("alice", 1)
    with open(files[0], "rb") as f:
        head, body = f.read().split(b"\n\n", 1)
    assert b"\nX-Inserted: at index 1\n" in head  # the edit was applied
    assert body == b"\n" * (lines - 1)
    peak = peak_rss(inst, "cleanup")
    print(f"cleanup peak RSS with {lines} empty lines: {peak >> 20} MB")
    assert 0 < peak < 64 * 1024 * 1024, f"cleanup peaked at {peak >> 20} MB"


def data_reply(inst):
    """The reply to a message from a client to alice; the session goes on."""
    with session(inst) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        assert s.rcpt("alice@mx.test")[0] == 250
        reply = s.data(MSG)
        assert s.noop()[0] == 250
    return reply


def refused_as_too_big(inst):
    """A message from a client gets 552 5.3.4, and the session goes on."""
    assert data_reply(inst) == (552, b"5.3.4 Message file too big")


FLOODS = [("flood_headers", {}, r"header edits over header_size_limit \(102400 bytes\)"),
          ("flood_rcpts", {"smtpd_recipient_limit": "10"}, r"more than smtpd_recipient_limit \(10\) recipients added"),
          ("huge_body", {"message_size_limit": "100000"}, r"replaced body over message_size_limit \(100000 bytes\)")]


@pytest.mark.parametrize("behaviour,params,warning", FLOODS, ids=[f[0] for f in FLOODS])
def test_smtpd_milters_edits_past_their_limits_refuse_the_message(make_instance, milters, behaviour, params, warning):
    """A milter that asks for more than a client could send (header fields,
    recipients, body) gets the message refused as Postfix refuses a queue
    file over its limit, and nothing of it is kept."""
    inst, m = milter_instance(make_instance, milters, behaviour + "_quiet", **params)
    refused_as_too_big(inst)
    log_has(inst, rf"kurir/smtpd\[\d+\]: warning: milter inet:127\.0\.0\.1:{m.port}: {warning}")
    log_has(inst, r"milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 552 5\.3\.4 Message file too big")
    assert not inst.queue_files()
    assert not inst.maildir_files("alice")


def sendmail_past_the_body_limit(make_instance, milters, behaviour):
    """A message from sendmail to a non_smtpd_milter that replaces its body
    with 300 KB (message_size_limit: 100 KB)."""
    inst = make_instance()
    m = milters(behaviour, inst.tmp)
    inst.set(non_smtpd_milters=m.spec(), message_size_limit="100000")
    inst.start()
    res = inst.sendmail("alice@mx.test", input=b"Subject: grown\n\nbody\n")
    assert res.returncode == 0, res.stderr
    return inst


def test_non_smtpd_milters_edits_past_their_limits_refuse_the_message(make_instance, milters):
    inst = sendmail_past_the_body_limit(make_instance, milters, "huge_body_quiet")
    log_has(inst, r"kurir/cleanup\[\d+\]: warning: \w+: milter inet:127\.0\.0\.1:\d+: "
                  r"replaced body over message_size_limit \(100000 bytes\)")
    log_has(inst, r"kurir/cleanup\[\d+\]: \w+: milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: "
                  r"552 5\.3\.4 Message file too big; from=<[^>]+> to=<alice@mx\.test>")
    inst.wait_queue_empty()
    assert inst.maildir_files("alice") == []


def test_smtpd_milters_verdict_after_the_excess_is_the_answer(make_instance, milters):
    """Past a limit the milter is still heard: its REJECT is the reply to
    the client, not 552."""
    inst, m = milter_instance(make_instance, milters, "huge_body_then_reject", message_size_limit="100000")
    assert data_reply(inst) == (550, b"5.7.1 Command rejected")
    log_has(inst, rf"warning: milter inet:127\.0\.0\.1:{m.port}: replaced body over message_size_limit")
    assert not inst.queue_files()


def test_a_verdict_after_the_excess_is_the_answer(make_instance, milters):
    """Past a limit the milter is still heard: its REJECT is the reply."""
    inst = sendmail_past_the_body_limit(make_instance, milters, "huge_body_then_reject")
    log_has(inst, r"kurir/cleanup\[\d+\]: \w+: milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: "
                  r"550 5\.7\.1 Command rejected; from=<[^>]+> to=<alice@mx\.test>")
    inst.wait_queue_empty()
    assert inst.maildir_files("alice") == []


def send_and_deliver(inst, where):
    """A message to alice from an SMTP client (where: smtpd) or from
    sendmail (non_smtpd), as delivered."""
    if where == "smtpd":
        with session(inst) as s:
            s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    else:
        res = inst.sendmail("alice@mx.test", input=b"Subject: hello\n\nthe body\n")
        assert res.returncode == 0, res.stderr
    return delivered(inst, "alice")


@pytest.mark.parametrize("where", ["smtpd", "non_smtpd"])
def test_a_milter_that_fails_past_a_limit_takes_its_excess_with_it(make_instance, milters, where):
    """A milter that edits past a limit and then dies has its edits dropped
    (milter_default_action = accept), and what they counted: the next
    milter's edits are taken, and the message passes, whether or not a
    milter follows it."""
    inst = make_instance()
    first = milters("huge_body_then_die", inst.tmp)
    second = milters("add_header", inst.tmp)
    inst.set(**{f"{where}_milters": f"{first.spec()}, {second.spec()}"}, milter_default_action="accept",
             message_size_limit="100000")
    inst.start()
    msg = send_and_deliver(inst, where)
    assert msg["X-Milter-Added"] == "yes"
    assert msg.get_payload() == "the body\n"
    log_has(inst, rf"warning: (\w+: )?milter inet:127\.0\.0\.1:{first.port}: "
                  r"replaced body over message_size_limit \(100000 bytes\)")


def packet(command, data=b""):
    return struct.pack(">I", len(data) + 1) + command + data


class RawMilter:
    """A milter of raw packets that negotiates the modification actions
    given, asks for no stage but the end of message, and answers it with
    the packets given, then continue."""

    def __init__(self, actions, eom_packets):
        self.actions, self.eom_packets = actions, eom_packets
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        threading.Thread(target=self.serve, daemon=True).start()

    def spec(self):
        return f"inet:127.0.0.1:{self.srv.getsockname()[1]}"

    def serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.converse, args=(c,), daemon=True).start()

    def converse(self, c):
        with c, c.makefile("rb") as f:
            while True:
                head = f.read(4)
                if len(head) < 4:
                    return
                data = f.read(struct.unpack(">I", head)[0])
                command, data = data[:1], data[1:]
                if command == b"O":  # no actions; of the stages, only the end of message
                    _, _, offered = struct.unpack(">III", data[:12])
                    no_stages = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x200
                    c.sendall(packet(b"O", struct.pack(">III", 6, self.actions, offered & no_stages)))
                elif command == b"E":
                    c.sendall(self.eom_packets + packet(b"c"))
                elif command not in (b"D", b"A", b"Q"):
                    c.sendall(packet(b"c"))

    def close(self):
        self.srv.close()


@pytest.mark.parametrize("where", ["smtpd", "non_smtpd"])
def test_an_edit_the_milter_did_not_negotiate_fails_the_milter(make_instance, where):
    """The milter gets milter_default_action, and its edit is not applied
    (stricter than Postfix, which checks the actions only when it
    negotiates them, and applies such an edit)."""
    inst = make_instance()
    milter = RawMilter(0, packet(b"h", b"X-Not-Negotiated\0yes\0"))  # no action, an added header all the same
    try:
        inst.set(**{f"{where}_milters": milter.spec()}, milter_default_action="accept")
        inst.start()
        msg = send_and_deliver(inst, where)
        assert msg["X-Not-Negotiated"] is None
        log_has(inst, r"warning: (\w+: )?milter inet:127\.0\.0\.1:\d+: modification action 0x1 not negotiated")
    finally:
        milter.close()


def test_one_edit_past_cleanups_limit_on_a_record_gets_552_at_once(make_instance):
    """With header_size_limit above a megabyte, one inserted field as large
    as a milter's packet may be (1 MiB) makes an F record over cleanup's
    limit on one record (its index in ten digits, where the packet has four
    bytes): refused with 552 at once. cleanup took such a record (250 here)
    when it came in one read and refused it (451) when it came in pieces."""
    inst = make_instance()
    value = b"v" * ((1 << 20) - 12)  # the packet: 'i', index, "X", NUL, value, NUL: 1 MiB - 4 bytes
    milter = RawMilter(0x1ff, packet(b"i", struct.pack(">I", 4294967295) + b"X\0" + value + b"\0"))
    try:
        inst.set(smtpd_milters=milter.spec(), header_size_limit="10000000", message_size_limit="100000000")
        inst.start()
        refused_as_too_big(inst)
        log_has(inst, r"warning: milter inet:127\.0\.0\.1:\d+: an edit over 1048576 bytes "
                      r"\(cleanup's limit on one record\)")
        assert not inst.queue_files()
    finally:
        milter.close()


TIMEOUTS = {"milter_command_timeout": "1s", "milter_content_timeout": "1s"}


@pytest.mark.parametrize("behaviour", ["progress_forever", "edits_forever"])
def test_smtpd_milters_trickling_packets_time_out(make_instance, milters, behaviour):
    """One deadline for the whole end-of-message answer: edits never restart
    it, progress does but only up to ten times milter_content_timeout (1 s
    here); then the milter has timed out (milter_default_action: tempfail)."""
    inst, m = milter_instance(make_instance, milters, behaviour, **TIMEOUTS)
    assert data_reply(inst) == (451, b"4.7.1 Service unavailable - try again later")
    log_has(inst, rf"kurir/smtpd\[\d+\]: warning: milter inet:127\.0\.0\.1:{m.port}: timeout waiting for a reply")
    assert not inst.queue_files()
    assert not inst.maildir_files("alice")


@pytest.mark.parametrize("behaviour", ["progress_forever", "edits_forever"])
def test_non_smtpd_milters_trickling_packets_time_out(make_instance, milters, behaviour):
    """cleanup's blocking driver: the same deadline (it was restarted by
    every packet, so such a milter held cleanup for good)."""
    inst = make_instance()
    m = milters(behaviour, inst.tmp)
    inst.set(non_smtpd_milters=m.spec(), **TIMEOUTS)
    inst.start()
    res = inst.sendmail("alice@mx.test", input=b"Subject: trickled\n\nbody\n")
    assert res.returncode == 0, res.stderr
    log_has(inst, rf"kurir/cleanup\[\d+\]: warning: \w+: milter inet:127\.0\.0\.1:{m.port}: timeout")
    assert inst.maildir_files("alice") == []


def send_one(inst, where):
    """One message from a client (smtpd_milters) or from sendmail."""
    if where == "smtpd_milters":
        with session(inst) as s:
            s.ehlo("client.test")
            s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    else:
        res = inst.sendmail("alice@mx.test", input=b"Subject: replaced\n\nbody\n")
        assert res.returncode == 0, res.stderr


def delivered_body(inst):
    files = inst.wait_delivered("alice", 1)
    with open(files[0], "rb") as f:
        return f.read().split(b"\n\n", 1)[1]


@pytest.mark.parametrize("where", ["smtpd_milters", "non_smtpd_milters"])
def test_each_milters_replaced_body_starts_the_body_over(make_instance, milters, where):
    """As Postfix (milter8.c's MILTER_BODY_START): the body is the last
    replacement's, its pieces in order, not the replacements joined; and
    only that body counts against message_size_limit (two of 60 KB under a
    limit of 100 KB: the joined bodies were refused with 552)."""
    inst = make_instance()
    first, second = milters("replace_body_60", inst.tmp), milters("replace_body_60", inst.tmp)
    inst.set(**{where: f"{first.spec()}, {second.spec()}"}, message_size_limit="100000")
    inst.start()
    send_one(inst, where)
    assert delivered_body(inst) == (f"the body of the milter on port {second.port}\n".encode() +
                                    (b"x" * 998 + b"\n") * 60)


AGREED = [("add_headers_2400", {"header_size_limit": "10000"},
           r"header edits over header_size_limit \(10000 bytes\)"),
          # with smtpd's own "Authentication-Results: mx.test; dkim=none" (44 bytes) on top
          ("add_headers_1995", {"header_size_limit": "10000", "mynetworks": "192.0.2.0/24"},
           r"header edits over header_size_limit \(10000 bytes\)"),
          ("replace_body_68000", {"message_size_limit": "100000000"},
           r"edits over 67108864 bytes in all \(cleanup's limit on their records\)")]


@pytest.mark.parametrize("behaviour,params,warning", AGREED, ids=["headers", "headers_after_dkim", "body_over_64mb"])
def test_smtpd_milters_edits_that_cleanup_would_refuse_get_552_at_once(make_instance, milters, behaviour, params,
                                                                      warning):
    """The budget counts as cleanup does: header fields as header lines
    ("X: 1" and a newline, after smtpd's Authentication-Results), all edits
    within cleanup's cap on their records whatever message_size_limit is.
    Edits that passed the budget and that cleanup then refused got 451 on
    every try."""
    inst, m = milter_instance(make_instance, milters, behaviour + "_quiet", **params)
    refused_as_too_big(inst)
    log_has(inst, rf"kurir/smtpd\[\d+\]: warning: milter inet:127\.0\.0\.1:{m.port}: {warning}")
    assert not inst.queue_files()
