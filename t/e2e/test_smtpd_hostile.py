"""smtpd against hostile and broken clients: smuggling, relaying, oversize
messages, garbage, protocol errors."""
import glob
import os
import random
import re
import signal
import socket

import pytest

from instance import wait_for
from smtp_raw import RawSMTP, never_read, peak_rss_kb


def start_data(c, rcpt="alice@mx.test"):
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.test")[0] == 250
    assert c.cmd("MAIL FROM:<sender@client.test>")[0] == 250
    assert c.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
    assert c.cmd("DATA")[0] == 354


@pytest.mark.parametrize("smuggle", [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n"],
                         ids=["lf-dot-lf", "cr-dot-cr", "lf-dot-crlf", "crlf-dot-lf"])
def test_smuggled_end_of_data_never_splits_a_message(make_instance, smuggle):
    inst = make_instance().start()
    with RawSMTP(inst.port) as c:
        start_data(c)
        smuggled = (b"MAIL FROM:<evil@client.test>\r\nRCPT TO:<victim@mx.test>\r\nDATA\r\n"
                    b"Subject: smuggled\r\n\r\nevil\r\n.\r\n")
        c.send(b"Subject: outer\r\n\r\nbefore" + smuggle + smuggled[:-5] + b"\r\nafter\r\n.\r\n")
        code, text = c.reply()
        assert code == 250, text
        assert c.cmd("QUIT")[0] == 221
    files = inst.wait_delivered("alice", 1)
    inst.wait_queue_empty()
    assert not glob.glob(os.path.join(inst.dir, "mail", "victim")), "the smuggled message must not exist"
    body = open(files[0], "rb").read()
    assert b"smuggled" in body and b"after" in body
    assert b"\r" not in body.replace(b"\r.\r", b"") or smuggle == b"\r.\r"


def closed(c):
    """The server hung up: nothing more comes."""
    try:
        c.reply()
    except (ConnectionError, OSError):
        return True
    return False


def test_bare_newline_rejected_when_configured(make_instance):
    """smtpd_forbid_bare_newline = reject, as Postfix 3.9's: a message line or
    a command ended by a bare LF gets smtpd_forbid_bare_newline_reject_code
    and the session ends; nothing is queued."""
    inst = make_instance(smtpd_forbid_bare_newline="reject", smtpd_forbid_bare_newline_exclusions="").start()
    with RawSMTP(inst.port) as c:
        start_data(c)
        c.send(b"Subject: x\r\n\r\nbare\nline\r\n.\r\n")
        assert c.reply() == (550, "550 5.5.2 Error: bare <LF> received")
        assert closed(c)
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        c.send(b"EHLO client.test\nMAIL FROM:<sender@client.test>\r\n")
        assert c.reply() == (550, "550 5.5.2 Error: bare <LF> received")
        assert closed(c)
    wait_for(lambda: len(re.findall(r"NOQUEUE: reject: (DATA|command) from localhost\[127\.0\.0\.1\]: 550 5\.5\.2 "
                                    r"Error: bare <LF> received", inst.log())) == 2, 20, "both refusals logged")
    inst.wait_queue_empty()
    assert not glob.glob(os.path.join(inst.dir, "mail", "alice"))


def test_bare_newline_reject_code_and_exclusions(make_instance):
    """smtpd_forbid_bare_newline_reject_code sets the code; a client in
    smtpd_forbid_bare_newline_exclusions ($mynetworks by default, which has
    127.0.0.1 here) is not refused: its bare LF ends a line."""
    inst = make_instance(smtpd_forbid_bare_newline="reject", smtpd_forbid_bare_newline_reject_code="554",
                         smtpd_forbid_bare_newline_exclusions="192.0.2.0/24").start()
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        c.send(b"NOOP\n")
        assert c.reply() == (554, "554 5.5.2 Error: bare <LF> received")
        assert closed(c)
    inst.stop()
    excluded = make_instance(smtpd_forbid_bare_newline="reject", mynetworks="127.0.0.0/8").start()
    with RawSMTP(excluded.port) as c:
        start_data(c)
        c.send(b"Subject: x\r\n\r\nbare\nline\r\n.\r\n")
        assert c.reply()[0] == 250
        c.send(b"NOOP\n")
        assert c.reply()[0] == 250
    (path,) = excluded.wait_delivered("alice", 1)
    assert b"\nbare\nline\n" in open(path, "rb").read()


def test_relay_attempt_is_refused(make_instance):
    inst = make_instance(mynetworks="192.0.2.0/24").start()
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        c.cmd("EHLO client.test")
        c.cmd("MAIL FROM:<sender@client.test>")
        code, text = c.cmd("RCPT TO:<victim@elsewhere.example>")
        assert code == 554 and "5.7.1" in text and "Relay access denied" in text
        assert c.cmd("RCPT TO:<alice@mx.test>")[0] == 250
    assert "Relay access denied" in inst.log()


def test_oversize_gets_552(make_instance):
    inst = make_instance(message_size_limit="2000").start()
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        code, text = c.cmd("EHLO client.test")
        assert "SIZE 2000" in text
        code, text = c.cmd("MAIL FROM:<sender@client.test> SIZE=5000")
        assert code == 552 and "5.3.4" in text
        assert c.cmd("MAIL FROM:<sender@client.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@mx.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n" * 0 + (b"y" * 78 + b"\r\n") * 100 + b".\r\n")
        code, text = c.reply()
        assert code == 552 and "5.3.4" in text
        # The session goes on.
        assert c.cmd("RSET")[0] == 250
    assert not inst.queue_files()


def test_random_bytes_get_replies_and_no_crash(make_instance):
    inst = make_instance(smtpd_hard_error_limit="100000", smtpd_soft_error_limit="100000").start()
    rng = random.Random(5321)
    lines = []
    for _ in range(10000):
        n = rng.randint(0, 600)
        lines.append(bytes(rng.randrange(256) for _ in range(n)).replace(b"\n", b" ") + b"\r\n")
    # No accidental QUIT/DATA: start each line with a byte no verb starts with.
    lines = [b"#" + l for l in lines]
    with RawSMTP(inst.port, timeout=60) as c:
        assert c.reply()[0] == 220
        c.send(b"".join(lines))
        replies = 0
        for _ in lines:
            code, _ = c.reply()
            assert 500 <= code < 600
            replies += 1
        assert replies == len(lines)
        assert c.cmd("NOOP")[0] == 250
    assert "killed by signal" not in inst.log()
    inst.send("sender@client.test", ["alice@mx.test"], "Subject: after\r\n\r\nfine\r\n")
    inst.wait_delivered("alice", 1)


def test_protocol_errors_have_clear_replies(make_instance):
    inst = make_instance(smtpd_hard_error_limit="5").start()
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        code, text = c.cmd("FOO bar")
        assert code == 500 and "5.5.2" in text
        assert c.cmd("RCPT TO:<alice@mx.test>")[0] == 503
        assert c.cmd("DATA")[0] == 503
        code, text = c.cmd("MAIL FROM:<" + "a" * 600 + "@x>")
        assert code == 500 and "too long" in text
        # The fifth error (hard limit 5) ends the session after its reply.
        code, text = c.cmd("HELO")
        assert code == 501
        code, text = c.reply()
        assert code == 421 and "too many errors" in text
        assert c.sock.recv(100) == b""


def test_pipelined_transactions(make_instance):
    inst = make_instance().start()
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        assert "PIPELINING" in c.cmd("EHLO client.test")[1]
        burst = b""
        for i in range(3):
            burst += (b"MAIL FROM:<s@client.test>\r\nRCPT TO:<dave@mx.test>\r\nRCPT TO:<erin@mx.test>\r\n"
                      b"DATA\r\n")
            burst += b"Subject: p%d\r\n\r\n..leading dot\r\n.\r\n" % i
        burst += b"QUIT\r\n"
        c.send(burst)
        codes = [c.reply()[0] for _ in range(3 * 5 + 1)]
        assert codes == [250, 250, 250, 354, 250] * 3 + [221]
    inst.wait_delivered("dave", 3)
    inst.wait_delivered("erin", 3)
    body = open(inst.maildir_files("dave")[0], "rb").read()
    assert b"\n.leading dot\n" in body


def test_unsafe_local_parts_are_not_delivered(make_instance):
    inst = make_instance().start()
    # The sender is local so that its three bounce notices land here (a remote
    # one's notices would bounce in turn and reach postmaster, at any time).
    with inst.smtp() as s:
        for rcpt in ['"../etc"@mx.test', '".hidden"@mx.test', '"a/b"@mx.test']:
            s.sendmail("sam@mx.test", [rcpt], "Subject: x\r\n\r\ny\r\n")
    inst.wait_delivered("sam", 3)
    inst.wait_queue_empty()
    assert inst.log().count("status=bounced") == 3
    assert not os.path.exists(os.path.join(inst.dir, "etc"))
    assert sorted(os.listdir(os.path.join(inst.dir, "mail"))) == ["sam"]


def test_idle_client_times_out(make_instance):
    inst = make_instance(smtpd_timeout="1s").start()
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        code, text = c.reply()  # nothing sent: the server gives up
        assert code == 421 and "timeout" in text
    wait_for(lambda: "timeout after" in inst.log(), 10, "the timeout log line")


def test_client_that_never_reads_cannot_grow_smtpd_or_hold_it(make_instance):
    """smtp_raw.never_read in plaintext; the process serves the next client."""
    inst = make_instance(smtpd_timeout="2s").start()
    never_read(inst, socket.create_connection(("127.0.0.1", inst.port)))
    inst.send("s@client.test", ["alice@mx.test"], "Subject: after\r\n\r\nstill served\r\n")
    inst.wait_delivered("alice", 1)


def test_smtpd_reads_nothing_while_cleanup_has_the_message(make_instance):
    """With cleanup stopped after the final dot, a client that goes on sending
    meets a server that stopped reading: what it sent is not held in smtpd.
    Once cleanup answers, the message is accepted and delivered."""
    inst = make_instance().start()
    with RawSMTP(inst.port) as c:
        start_data(c)
        wait_for(lambda: re.search(r"/smtpd\[\d+\]: \w+: client=", inst.log()), 30,
                 "cleanup to take the message")
        cleanups = inst.pids("cleanup")
        pid = int(re.findall(r"/smtpd\[(\d+)\]: connect from", inst.log())[-1])
        for p in cleanups:
            os.kill(p, signal.SIGSTOP)
        try:
            c.send(b"Subject: held\r\n\r\nbody\r\n.\r\n")
            c.sock.settimeout(3)
            with pytest.raises(socket.timeout):  # the server stopped reading
                c.send(b"NOOP\r\n" * (64 * 2**20 // 6))
            assert peak_rss_kb(pid) < 48 * 1024, "smtpd read on while cleanup had the message"
        finally:
            for p in cleanups:
                os.kill(p, signal.SIGCONT)
        c.sock.settimeout(30)
        code, text = c.reply()
        assert code == 250, text
    inst.wait_delivered("alice", 1)


def test_too_many_recipients(make_instance):
    inst = make_instance(smtpd_recipient_limit="3").start()
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        c.cmd("EHLO client.test")
        c.cmd("MAIL FROM:<s@client.test>")
        for i in range(3):
            assert c.cmd(f"RCPT TO:<u{i}@mx.test>")[0] == 250
        code, text = c.cmd("RCPT TO:<u9@mx.test>")
        assert code == 452 and "4.5.3" in text
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: three\r\n\r\nx\r\n.\r\n")
        assert c.reply()[0] == 250
    for i in range(3):
        inst.wait_delivered(f"u{i}", 1)


def test_stray_cr_lf_and_nul_as_the_next_hop_sees_them(make_instance):
    """A body with <CR>.<CR>, a bare <LF>.<LF> and a NUL, relayed: the next
    hop gets one message whose lines hold no CR or LF of their own (a stray
    CR became a space, as Postfix's cleanup_replace_stray_cr_lf does; a bare
    LF ended a line, and the "." between two bare LFs was an ordinary line,
    dot-unstuffed to an empty one) and no NUL (kurir's default
    message_strip_characters = \\0; Postfix's empty default would keep it)."""
    from peers import SmtpReceiver
    with SmtpReceiver(pipelining=True) as mx:
        inst = make_instance()
        inst.set(relayhost=f"[127.0.0.1]:{mx.port}")
        inst.start()
        with RawSMTP(inst.port) as c:
            start_data(c, rcpt="r@remote.test")
            c.send(b"Subject: stray\r\n\r\none\r.\rtwo\r\nthree\n.\nfour\r\nnul\0byte\r\n.\r\n")
            code, text = c.reply()
            assert code == 250, text
            assert c.cmd("QUIT")[0] == 221
        msgs = mx.wait_messages(1)
        inst.wait_queue_empty()
        assert len(mx.messages) == 1 and len(msgs) == 1
    data = msgs[0].data
    body = data.split(b"\r\n\r\n", 1)[1]
    assert body == b"one . two\r\nthree\r\n\r\nfour\r\nnulbyte\r\n", body
    assert b"\r" not in data.replace(b"\r\n", b"") and b"\n" not in data.replace(b"\r\n", b"")
