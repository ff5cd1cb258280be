"""CHUNKING (RFC 3030) in smtpd: BDAT messages delivered byte-exact, chunks
pipelined with commands, Postfix's replies for every error, and a chunk of
any claimed size streamed in bounded memory. No common client sends BDAT
(smtplib and swaks do not; Postfix's smtp client does not either), so these
are raw sockets, with the replies compared to what Postfix 3.7's smtpd
answers to the same bytes."""
import re

import pytest

from instance import wait_for
from peers import PostfixInstance, postfix_usable
from smtp_raw import RawSMTP, peak_rss_kb

BINARY = bytes(range(0x80, 0x100))


def envelope(c, rcpt="alice@mx.test"):
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.test")[0] == 250
    assert c.cmd("MAIL FROM:<sender@client.test>")[0] == 250
    assert c.cmd(f"RCPT TO:<{rcpt}>")[0] == 250


def bdat(c, data, last=False):
    c.send(b"BDAT %d%s\r\n" % (len(data), b" LAST" if last else b"") + data)
    return c.reply()


def delivered(inst, user="alice", count=1):
    files = inst.wait_delivered(user, count)
    return [open(f, "rb").read() for f in files]


def test_ehlo_offers_chunking_and_not_binarymime(make_instance):
    inst = make_instance().start()
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        code, text = c.cmd("EHLO client.test")
    assert code == 250
    assert text.splitlines()[-1] == "250 CHUNKING"
    assert "BINARYMIME" not in text


def test_message_in_chunks_is_delivered_byte_exact(make_instance):
    """Binary bytes, a bare CR, a lone "." line, a CRLF "." CRLF and a
    command inside the content, CRLF split between chunks: all content;
    line ends become the Maildir's LF as for DATA. cleanup keeps every byte
    here (its defaults replace a stray CR and strip NUL, for BDAT as for
    DATA: see the next test)."""
    inst = make_instance(cleanup_replace_stray_cr_lf="no", message_strip_characters="").start()
    content = (b"Subject: chunks\r\nMessage-ID: <bdat@client.test>\r\n\r\n"
               b"binary " + BINARY + b"\r\n"
               b"nul\x00byte\r\n"
               b"a bare\rCR\r\n"
               b".\r\n"
               b"..two dots stay two\r\n"
               b"\r\n.\r\nMAIL FROM:<evil@client.test>\r\nRCPT TO:<victim@mx.test>\r\n"
               b"last line\r\n")
    cuts = [0, 20, content.index(b"a bare") + 7, content.index(b"\r\n.\r\nMAIL") + 1, len(content)]
    with RawSMTP(inst.port) as c:
        envelope(c)
        for a, b in zip(cuts, cuts[1:-1]):
            assert bdat(c, content[a:b]) == (250, f"250 2.0.0 Ok: {b - a} bytes")
        code, text = bdat(c, content[cuts[-2]:], last=True)
        assert code == 250, text
        m = re.fullmatch(rf"250 2\.0\.0 Ok: {len(content)} bytes queued as (\w+)", text)
        assert m, text
        queue_id = m.group(1)
        assert c.cmd("QUIT")[0] == 221
    (got,) = delivered(inst)
    assert got.endswith(b"\n\n" + content.split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n")), got
    assert b"Subject: chunks\n" in got
    inst.wait_queue_empty()
    assert not inst.maildir_files("victim")
    log = inst.log()
    # The same log lines as for DATA.
    assert re.search(rf"kurir/smtpd\[\d+\]: {queue_id}: client=localhost\[127\.0\.0\.1\]", log), log
    assert re.search(rf"kurir/qmgr\[\d+\]: {queue_id}: from=<sender@client\.test>, size=\d+, nrcpt=1", log)
    assert re.search(rf"{queue_id}: to=<alice@mx\.test>.*status=sent", log)
    assert re.search(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 bdat=4 quit=1 commands=8", log)


def test_cleanup_defaults_treat_bdat_content_as_data(make_instance):
    """cleanup_replace_stray_cr_lf and message_strip_characters (defaults)
    act on BDAT content as on DATA's: the stray CR a space, NUL gone."""
    inst = make_instance().start()
    with RawSMTP(inst.port) as c:
        envelope(c)
        assert bdat(c, b"Subject: cr\r\n\r\na bare\rCR\r\nnul\x00byte\r\n", last=True)[0] == 250
    (got,) = delivered(inst)
    assert got.endswith(b"\n\na bare CR\nnulbyte\n"), got


def test_chunks_pipelined_with_commands(make_instance):
    """Two transactions, every command and chunk in one write: smtpd takes
    exactly n bytes per chunk and reads the next command from the same
    buffer; BDAT 0 LAST ends a message."""
    inst = make_instance().start()
    first = b"Subject: one\r\n\r\nQUIT\r\nfirst\r\n"
    second = b"Subject: two\r\n\r\nsecond\r\n"
    burst = (b"MAIL FROM:<a@client.test>\r\nRCPT TO:<alice@mx.test>\r\n"
             b"BDAT %d\r\n%sBDAT 0 LAST\r\n"
             b"MAIL FROM:<b@client.test>\r\nRCPT TO:<bob@mx.test>\r\n"
             b"BDAT 10\r\n%sBDAT %d LAST\r\n%sNOOP\r\n"
             % (len(first), first, second[:10], len(second) - 10, second[10:]))
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        c.send(burst)
        codes = [c.reply() for _ in range(9)]
        assert [x[0] for x in codes] == [250] * 9, codes
        assert codes[2][1] == f"250 2.0.0 Ok: {len(first)} bytes"
        assert re.fullmatch(rf"250 2\.0\.0 Ok: {len(first)} bytes queued as \w+", codes[3][1])
        assert codes[6][1] == "250 2.0.0 Ok: 10 bytes"
        assert re.fullmatch(rf"250 2\.0\.0 Ok: {len(second)} bytes queued as \w+", codes[7][1])
        assert codes[8][1] == "250 2.0.0 Ok"
    (one,) = delivered(inst, "alice")
    (two,) = delivered(inst, "bob")
    assert one.endswith(b"\n\nQUIT\nfirst\n") and two.endswith(b"\n\nsecond\n")


def test_chunk_larger_than_the_input_buffer(make_instance):
    """A 3 MB chunk (many times smtpd's input buffer) and a 1 MB one,
    streamed to cleanup in pieces, delivered whole."""
    inst = make_instance().start()
    line = b"0123456789" * 7 + b"\r\n"
    big = b"Subject: big\r\n\r\n" + line * (3 * 2**20 // len(line))
    more = line * (2**20 // len(line))
    with RawSMTP(inst.port) as c:
        envelope(c)
        assert bdat(c, big) == (250, f"250 2.0.0 Ok: {len(big)} bytes")
        code, text = bdat(c, more, last=True)
        assert code == 250, text
    (got,) = delivered(inst)
    assert got.endswith(b"\n\n" + (big.split(b"\r\n\r\n", 1)[1] + more).replace(b"\r\n", b"\n"))


def test_bdat_without_transaction_reads_and_drops_the_chunk(make_instance):
    inst = make_instance().start()
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        # The chunk holds commands: they are bytes to drop, never run.
        assert bdat(c, b"QUIT\r\n") == (503, "503 5.5.1 Error: need RCPT command")
        # The transaction failed: later chunks are dropped until LAST.
        dropped = b"RSET\r\nMAIL FROM:<x@y>\r\n"
        assert bdat(c, dropped, last=True) == \
            (551, f"551 5.0.0 Discarded {len(dropped)} bytes after earlier error")
        assert c.cmd("MAIL FROM:<sender@client.test>")[0] == 250
        assert bdat(c, b"QUIT\r\n", last=True) == (554, "554 5.5.1 Error: no valid recipients")
        assert c.cmd("NOOP") == (250, "250 2.0.0 Ok")
        # The failed transaction is gone (as Postfix: MAIL is accepted again).
        assert c.cmd("MAIL FROM:<sender@client.test>")[0] == 250


@pytest.mark.parametrize("command", ["BDAT", "BDAT x5", "BDAT -5", "BDAT +5", "BDAT 5 LASTX", "BDAT 5 LAST X",
                                     "BDAT 99999999999999999999"])
def test_unreadable_count_ends_the_session(make_instance, command):
    """Where the next command starts cannot be known: 521 and the end, as
    Postfix."""
    inst = make_instance().start()
    with RawSMTP(inst.port) as c:
        envelope(c)
        c.send(command + "\r\nhelloQUIT\r\n")
        assert c.reply() == (521, "521 5.5.4 Syntax: BDAT count [LAST]")
        assert c.sock.recv(100) == b""
    assert re.search(r"warning: NOQUEUE: malformed BDAT command syntax from localhost\[127\.0\.0\.1\]: "
                     + re.escape(command), inst.log())


def test_data_and_rcpt_after_bdat_are_refused_rset_clears(make_instance):
    inst = make_instance().start()
    with RawSMTP(inst.port) as c:
        envelope(c)
        assert bdat(c, b"Subject: x\r\n")[0] == 250
        assert c.cmd("DATA") == (503, "503 5.5.1 Error: DATA after BDAT")
        assert c.cmd("RCPT TO:<bob@mx.test>") == (503, "503 5.5.1 Error: RCPT after BDAT")
        assert c.cmd("MAIL FROM:<x@client.test>") == (503, "503 5.5.1 Error: nested MAIL command")
        assert c.cmd("RSET")[0] == 250
        assert bdat(c, b"x", last=True) == (503, "503 5.5.1 Error: need RCPT command")
        assert c.cmd("MAIL FROM:<sender@client.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@mx.test>")[0] == 250
        # BDAT 0 without LAST fails the transaction, as in Postfix.
        assert bdat(c, b"", last=False) == (551, "551 5.7.1 Null BDAT request")
        assert bdat(c, b"x", last=True) == (551, "551 5.0.0 Discarded 1 bytes after earlier error")
        assert c.cmd("MAIL FROM:<sender@client.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@mx.test>")[0] == 250
        assert bdat(c, b"Subject: after rset\r\n\r\nbody\r\n")[0] == 250
        assert bdat(c, b"", last=True)[0] == 250
    (got,) = delivered(inst)
    assert b"Subject: after rset\n" in got and b"Subject: x" not in got


def test_message_size_limit(make_instance):
    """A chunk that would pass message_size_limit is read, dropped and
    answered 552; the rest of the transaction is dropped until LAST."""
    inst = make_instance(message_size_limit="1000").start()
    with RawSMTP(inst.port) as c:
        envelope(c)
        assert bdat(c, b"a" * 600)[0] == 250
        assert bdat(c, b"QUIT\r\n" * 100) == (552, "552 5.3.4 Chunk exceeds message size limit")
        assert bdat(c, b"hello") == (551, "551 5.0.0 Discarded 5 bytes after earlier error")
        assert bdat(c, b"", last=True) == (551, "551 5.0.0 Discarded 0 bytes after earlier error")
        assert c.cmd("NOOP")[0] == 250
        # A new transaction within the limit goes through.
        assert c.cmd("MAIL FROM:<sender@client.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@mx.test>")[0] == 250
        assert bdat(c, b"Subject: small\r\n\r\nok\r\n", last=True)[0] == 250
    assert re.search(r"warning: \w+: BDAT request from localhost\[127\.0\.0\.1\] exceeds message size limit",
                     inst.log())
    (got,) = delivered(inst)
    assert b"Subject: small" in got


def test_bare_newline_rejected_at_the_end_when_configured(make_instance):
    inst = make_instance(smtpd_forbid_bare_newline="reject", smtpd_forbid_bare_newline_exclusions="").start()
    with RawSMTP(inst.port) as c:
        envelope(c)
        assert bdat(c, b"Subject: x\r\n\r\nbare\nline\r\n")[0] == 250
        assert bdat(c, b"", last=True) == (550, "550 5.5.2 Error: bare <LF> received")
        with pytest.raises((ConnectionError, OSError)):
            c.reply()  # and the session ends, as Postfix's


def test_discarded_chunking_is_neither_offered_nor_accepted(make_instance):
    inst = make_instance(smtpd_discard_ehlo_keywords="chunking").start()
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        code, text = c.cmd("EHLO client.test")
        assert code == 250 and "CHUNKING" not in text and text.splitlines()[-2:] == ["250-DSN", "250 SMTPUTF8"]
        assert c.cmd("MAIL FROM:<sender@client.test>")[0] == 250
        assert c.cmd("RCPT TO:<alice@mx.test>")[0] == 250
        assert bdat(c, b"QUIT\r\n", last=True) == (502, "502 5.5.1 Error: command not implemented")
        assert c.cmd("NOOP")[0] == 250  # the chunk's bytes were dropped, not run
    assert "discarding EHLO keywords: CHUNKING" in inst.log()
    silent = make_instance(smtpd_discard_ehlo_keywords="silent-discard, chunking").start()
    with RawSMTP(silent.port) as c:
        assert c.reply()[0] == 220
        assert "CHUNKING" not in c.cmd("EHLO client.test")[1]
    assert "discarding EHLO keywords" not in silent.log()


def test_huge_claimed_chunk_costs_no_memory(make_instance):
    """BDAT 999999999999 (no size limit): smtpd holds what its buffers hold,
    never the chunk; the session ends when the client goes."""
    inst = make_instance(message_size_limit="0").start()
    with RawSMTP(inst.port) as c:
        envelope(c)
        pid = int(re.findall(r"/smtpd\[(\d+)\]: connect from", inst.log())[-1])
        c.send(b"BDAT 999999999999\r\n")
        block = (b"x" * 998 + b"\r\n") * 1024
        for _ in range(48):  # 48 MB
            c.send(block)
        assert peak_rss_kb(pid) < 48 * 1024, "smtpd buffered the chunk"
    wait_for(lambda: re.search(r"lost connection after BDAT from localhost\[127\.0\.0\.1\]", inst.log()), 30,
             "the lost connection logged")


def test_client_gone_between_chunks_is_lost_after_bdat(make_instance):
    inst = make_instance().start()
    with RawSMTP(inst.port) as c:
        envelope(c)
        assert bdat(c, b"Subject: x\r\n")[0] == 250
    wait_for(lambda: re.search(r"lost connection after BDAT from localhost\[127\.0\.0\.1\]", inst.log()), 30,
             "the lost connection logged")
    inst.wait_queue_empty()  # nothing was queued


# The same bytes to Postfix's smtpd (a private instance) and to kurir's: the
# same replies, queue ids aside. RCPT names each server's own local user.
POSTFIX_SCRIPTS = {
    "no-transaction": (b"BDAT 6\r\nQUIT\r\nBDAT 3 LAST\r\nabcNOOP\r\n", 3),
    "no-recipient": (b"MAIL FROM:<s@client.test>\r\nBDAT 6\r\nQUIT\r\nNOOP\r\n", 3),
    # 17 bytes, then 8 (the message ends without a line end: Postfix's total
    # counts the line ends it gives it, 27).
    "two-chunks": (b"MAIL FROM:<s@client.test>\r\nRCPT TO:<{rcpt}>\r\nBDAT 17\r\nSubject: x\r\n\r\n.\r\n"
                   b"BDAT 8 LAST\r\nb\rc\n.\r\nxNOOP\r\n", 5),
    "bare-ends": (b"MAIL FROM:<s@client.test>\r\nRCPT TO:<{rcpt}>\r\nBDAT 9 LAST\r\nS: x\n\na\r\rNOOP\r\n", 4),
    "zero-last": (b"MAIL FROM:<s@client.test>\r\nRCPT TO:<{rcpt}>\r\nBDAT 0\r\nBDAT 3\r\nx\r\nbdat 0 last\r\n"
                  b"NOOP\r\n", 6),
    "after-bdat": (b"MAIL FROM:<s@client.test>\r\nRCPT TO:<{rcpt}>\r\nBDAT 3\r\nx\r\nDATA\r\nRCPT TO:<{rcpt}>\r\n"
                   b"MAIL FROM:<t@client.test>\r\nRSET\r\nBDAT 1 LAST\r\nxNOOP\r\n", 9),
    "bad-count": (b"MAIL FROM:<s@client.test>\r\nRCPT TO:<{rcpt}>\r\nBDAT 5 LAST X\r\nhelloNOOP\r\n", 3),
}


def replies_to(port, script, count):
    with RawSMTP(port) as c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        c.send(script)
        out = []
        for _ in range(count):
            out.append(re.sub(r"queued as \w+", "queued as ID", c.reply()[1]))
        # Every script but the one that ends the session ends with NOOP: its
        # 250 shows the session goes on; after a 521 the server hangs up.
        hung_up = out[-1].startswith("521") and c.sock.recv(100) == b""
        return out, hung_up


@pytest.mark.skipif(not postfix_usable(), reason="a private Postfix needs root and Debian's postfix")
def test_replies_match_postfix_smtpd(make_instance):
    inst = make_instance().start()
    with PostfixInstance() as pf:
        for name, (script, count) in POSTFIX_SCRIPTS.items():
            theirs = replies_to(pf.port, script.replace(b"{rcpt}", b"sink@pf.test"), count)
            ours = replies_to(inst.port, script.replace(b"{rcpt}", b"alice@mx.test"), count)
            assert ours == theirs, name


def test_failing_chunks_count_as_errors(make_instance):
    """A client that sends nothing but failing chunks meets the hard error
    limit, as one that sends bad commands does."""
    inst = make_instance(smtpd_hard_error_limit="5").start()
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        codes = [bdat(c, b"x")[0] for _ in range(4)]
        assert codes == [503, 551, 551, 551]
        assert bdat(c, b"x")[0] == 551
        assert c.reply()[0] == 421
        assert c.sock.recv(100) == b""
