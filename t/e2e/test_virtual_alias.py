"""virtual_alias_domains and virtual_alias_maps (issue 16): every recipient
rewritten in cleanup, recursively and one-to-many, for SMTP and sendmail
mail alike; unknown users of an alias domain refused at RCPT in Postfix's
words; an alias loop deferred, never lost; a table that cannot be read
defers; an address left in an alias domain bounces."""
import os
import smtplib

from instance import wait_for
from peers import SmtpReceiver


def rcpt(inst, address):
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        return s.rcpt(address)


def delivered(inst, user):
    [path] = inst.maildir_files(user)
    with open(path, "rb") as f:
        return f.read()


ALIASES = ("alias.test         the domain itself: an alias domain (Postfix's style)\n"
           "info@alias.test    alice\n"
           "sales@alias.test   bob@mx.test, remote@far.test, team@alias.test\n"
           "team@alias.test    carol@mx.test\n"
           "tom                alice\n"
           "loop1@alias.test   loop2@alias.test\n"
           "loop2@alias.test   loop1@alias.test\n")


def test_virtual_alias_local_and_remote_targets_and_unknown_users(make_instance):
    with SmtpReceiver() as far:
        inst = make_instance(mynetworks="192.0.2.0/24", recipient_delimiter="+")
        table = inst.build_map("virtual", ALIASES)
        inst.set(virtual_alias_maps=table, transport_maps=inst.build_map("transport", f"far.test smtp:[127.0.0.1]:{far.port}\n"))
        inst.start()
        code, text = rcpt(inst, "nobody@alias.test")
        assert (code, text) == (550, b"5.1.1 <nobody@alias.test>: Recipient address rejected: "
                                     b"User unknown in virtual alias table")
        assert ("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <nobody@alias.test>: Recipient address "
                "rejected: User unknown in virtual alias table; from=<s@client.test> to=<nobody@alias.test> "
                "proto=ESMTP helo=<client.test>") in inst.log()
        assert rcpt(inst, "info+news@alias.test")[0] == 250  # the extension is no other user
        assert rcpt(inst, "u@far.test")[0] == 554  # an alias target's domain is not ours to relay to

        inst.send("s@client.test", ["info+news@alias.test", "sales@alias.test", "tom@mx.test"],
                  b"To: info@alias.test, sales@alias.test\r\nSubject: aliased\r\n\r\nbody\r\n")
        for user in ("alice", "bob", "carol"):
            inst.wait_delivered(user, 1)
        far.wait_messages(1)
        inst.wait_queue_empty()
        # alice: once for info+news (the extension put back) and once for tom (a bare local part, as
        # Postfix looks it up in a local domain); the headers stay as the client wrote them.
        wait_for(lambda: len(inst.maildir_files("alice")) == 2, 30, "both of alice's copies")
        got = sorted(open(p, "rb").read() for p in inst.maildir_files("alice"))
        assert any(m.startswith(b"Return-Path: <s@client.test>\nDelivered-To: alice+news@mx.test\n") for m in got)
        assert any(m.startswith(b"Return-Path: <s@client.test>\nDelivered-To: alice@mx.test\n") for m in got)
        assert all(b"\nTo: info@alias.test, sales@alias.test\n" in m for m in got)
        assert delivered(inst, "bob").startswith(b"Return-Path: <s@client.test>\nDelivered-To: bob@mx.test\n")
        assert delivered(inst, "carol").startswith(b"Return-Path: <s@client.test>\nDelivered-To: carol@mx.test\n")
        assert far.messages[0].rcpt_tos == ["remote@far.test"]
        log = inst.log()
        assert "to=<alice+news@mx.test>, orig_to=<info+news@alias.test>, relay=local" in log
        assert "to=<carol@mx.test>, orig_to=<sales@alias.test>, relay=local" in log


def test_sendmail_mail_is_aliased_and_an_unaliased_address_bounces(make_instance):
    inst = make_instance()
    inst.set(virtual_alias_maps=inst.build_map("virtual", ALIASES))
    inst.start()
    res = inst.sendmail("-f", "dave@mx.test", "info@alias.test", "nobody@alias.test",
                        input=b"Subject: from sendmail\n\nbody\n")
    assert res.returncode == 0, res.stderr
    inst.wait_delivered("alice", 1)
    assert b"Delivered-To: alice@mx.test\n" in delivered(inst, "alice")
    # nobody@alias.test passed no smtpd: trivial-rewrite resolves it to the error transport, as Postfix.
    inst.wait_delivered("dave", 1)
    bounce = delivered(inst, "dave")
    assert b"User unknown in virtual alias table" in bounce
    wait_for(lambda: "to=<nobody@alias.test>, relay=none" in inst.log(), 30, "the bounce's log line")
    assert "dsn=5.1.1, status=bounced (User unknown in virtual alias table)" in inst.log()


def test_an_alias_loop_is_deferred_and_a_broken_table_defers(make_instance):
    inst = make_instance()
    inst.set(virtual_alias_maps=inst.build_map("virtual", ALIASES), virtual_alias_recursion_limit="20")
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        try:
            s.sendmail("s@client.test", ["loop1@alias.test"], b"Subject: loop\r\n\r\nbody\r\n")
            raise AssertionError("a looping alias was accepted")
        except smtplib.SMTPDataError as e:
            assert (e.smtp_code, e.smtp_error) == (451, b"4.6.0 Error: Alias expansion error")
    assert "unreasonable virtual_alias_maps map nesting for loop1@alias.test -- deferring delivery" in inst.log()
    # The table goes away: RCPT to any of our domains waits (the lookup cannot answer), never a 550.
    os.unlink(os.path.join(inst.dir, "virtual.db"))
    code, text = rcpt(inst, "info@alias.test")
    assert (code, text) == (451, b"4.3.0 <info@alias.test>: Temporary lookup failure")
    assert rcpt(inst, "alice@mx.test")[0] == 451
