"""LMTP delivery into a real Dovecot (Debian's dovecot-lmtpd, started by
the test from a dovecot.conf of its own: peers.Dovecot), read back with
IMAP from that Dovecot; and local's routing knobs: mailbox_transport,
fallback_transport and luser_relay.

Mail is submitted by SMTP to a kurir instance whose virtual_transport,
mailbox_transport or fallback_transport is lmtp:unix:SOCKET (Dovecot's LMTP
listener) or lmtp:inet:127.0.0.1:PORT. Dovecot knows one user, ivan (a
passdb user; LMTP lookups of any other name fail with 550 5.1.1), so a
second recipient ghost is refused by Dovecot alone: it bounces to the
sender while ivan's copy is delivered."""
import imaplib
import os
import re

import pytest

from instance import wait_for
from peers import Dovecot, dovecot_usable

PASSWORD = "lmtp pass"
SENDER = "sender@mx.test"  # a local Maildir: the bounce for ghost lands there

needs_dovecot = pytest.mark.skipif(not dovecot_usable(), reason="Dovecot needs root and Debian's dovecot-core")


def dovecot(socket_in=None, inet=False):
    """Dovecot with an LMTP listener at socket_in/lmtp (or on a TCP port)
    and IMAP; ivan@ANY is ivan (auth_username_format = %Ln)."""
    dove = Dovecot({"ivan": PASSWORD}, imap=True, mail_location="maildir:~/Maildir",
                   extra="auth_username_format = %Ln\n", start=False, lmtp_inet=inet)
    if not inet:
        dove.lmtp_socket = os.path.join(socket_in or dove.tmp, "lmtp")
    return dove.start()


def message(subject, to):
    return (f"From: <{SENDER}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@client.test>\r\n\r\nbody of {subject}\r\n").encode()


def imap_subjects(dove, user="ivan"):
    with imaplib.IMAP4("127.0.0.1", dove.imap_port, timeout=30) as m:
        m.login(user, PASSWORD)
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK", data
        out = []
        for num in range(1, int(data[0]) + 1):
            typ, data = m.fetch(str(num), "(BODY.PEEK[])")
            assert typ == "OK", data
            out.append(data[0][1])
        m.logout()
    return out


def wait_imap(dove, count):
    return wait_for(lambda: len(imap_subjects(dove)) >= count and imap_subjects(dove), 60,
                    f"{count} messages in ivan's INBOX over IMAP")


def wait_log(inst, pattern):
    return wait_for(lambda: re.search(pattern, inst.log(), re.M), 60, pattern)


def bounce_for(inst, rcpt):
    files = inst.wait_delivered("sender", 1)
    with open(files[0], "rb") as f:
        text = f.read().decode(errors="replace")
    assert rcpt in text, text
    return text


@needs_dovecot
def test_virtual_transport_lmtp_unix_into_dovecot_and_per_recipient_bounce(make_instance):
    inst = make_instance(virtual_mailbox_domains="vd.test", recipient_delimiter="+")
    inst.set(virtual_mailbox_maps=inst.build_map("vmailbox", "ivan@vd.test x\nghost@vd.test x\n"))
    with dovecot() as dove:
        inst.set(virtual_transport=f"lmtp:unix:{dove.lmtp_socket}")
        inst.start()
        inst.send(SENDER, ["ivan@vd.test", "ghost@vd.test"], message("lmtp unix", "ivan@vd.test"))
        got = wait_imap(dove, 1)
        inst.wait_queue_empty()
        assert len(got) == 1 and b"Subject: lmtp unix" in got[0] and b"body of lmtp unix" in got[0]
        sock = re.escape(dove.lmtp_socket)
        wait_log(inst, rf"kurir/lmtp\[\d+\]: \w+: to=<ivan@vd\.test>, relay=mx\.test\[{sock}\], "
                       rf".*dsn=2\.0\.0, status=sent \(250 2\.0\.0 <ivan@vd\.test> \S+ Saved\)$")
        wait_log(inst, rf"kurir/lmtp\[\d+\]: \w+: to=<ghost@vd\.test>, relay=mx\.test\[{sock}\], "
                       rf".*dsn=5\.1\.1, status=bounced \(host mx\.test\[{sock}\] said: 550 5\.1\.1 "
                       rf".*\(in reply to RCPT TO command\)\)$")
        bounce = bounce_for(inst, "ghost@vd.test")
        assert "5.1.1" in bounce and "ivan@vd.test" not in bounce.split("\n\n", 1)[0]


@needs_dovecot
def test_virtual_transport_lmtp_inet(make_instance):
    inst = make_instance(virtual_mailbox_domains="vd.test")
    inst.set(virtual_mailbox_maps=inst.build_map("vmailbox", "ivan@vd.test x\n"))
    with dovecot(inet=True) as dove:
        inst.set(virtual_transport=f"lmtp:inet:127.0.0.1:{dove.lmtp_port}")
        inst.start()
        inst.send(SENDER, ["ivan@vd.test"], message("lmtp inet", "ivan@vd.test"))
        got = wait_imap(dove, 1)
        assert b"Subject: lmtp inet" in got[0]
        wait_log(inst, rf"kurir/lmtp\[\d+\]: \w+: to=<ivan@vd\.test>, "
                       rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{dove.lmtp_port}, "
                       rf".*status=sent \(250 2\.0\.0 <ivan@vd\.test> \S+ Saved\)$")


@needs_dovecot
def test_mailbox_transport_private_dovecot_lmtp(make_instance):
    """mailbox_transport = lmtp:unix:private/dovecot-lmtp, the socket in the
    instance's own queue_directory as on a Postfix host: local hands the
    mailbox delivery over after alias expansion; lmtp logs it."""
    inst = make_instance(mailbox_transport="lmtp:unix:private/dovecot-lmtp")
    inst.write_aliases("postmaster: root\ninfo: ivan\n")
    inst.newaliases()
    with dovecot(socket_in=os.path.join(inst.dir, "queue", "private")) as dove:
        os.rename(dove.lmtp_socket, os.path.join(inst.dir, "queue", "private", "dovecot-lmtp"))
        inst.start()
        inst.send("someone@client.test", ["info@mx.test"], message("via alias", "info@mx.test"))
        inst.send(SENDER, ["ivan@mx.test", "ghost@mx.test"], message("to mailbox", "ivan@mx.test"))
        got = wait_imap(dove, 2)
        assert sorted(re.search(rb"Subject: (.*)\r\n", m).group(1) for m in got) == [b"to mailbox", b"via alias"]
        wait_log(inst, r"kurir/lmtp\[\d+\]: \w+: to=<ivan@mx\.test>, relay=mx\.test\[private/dovecot-lmtp\], "
                       r".*status=sent \(250 2\.0\.0 <ivan@mx\.test> \S+ Saved\)$")
        wait_log(inst, r"kurir/lmtp\[\d+\]: \w+: to=<ghost@mx\.test>, .*dsn=5\.1\.1, status=bounced ")
        inst.wait_queue_empty()
        # ivan's direct copy was handed over whole: lmtp logged it, local did not.
        assert not re.search(r"kurir/local\[\d+\]: \w+: to=<ivan@mx\.test>", inst.log())


@needs_dovecot
def test_fallback_transport_takes_users_without_an_account(make_instance):
    inst = make_instance(fallback_transport="lmtp:unix:private/dovecot-lmtp")
    with dovecot(socket_in=os.path.join(inst.dir, "queue", "private")) as dove:
        os.rename(dove.lmtp_socket, os.path.join(inst.dir, "queue", "private", "dovecot-lmtp"))
        inst.start()
        inst.send(SENDER, ["ivan@mx.test", "root@mx.test"], message("fallback", "ivan@mx.test"))
        got = wait_imap(dove, 1)
        assert b"Subject: fallback" in got[0]
        # root has a passwd account: local's own mailbox.
        files = inst.wait_delivered("root", 1)
        with open(files[0], "rb") as f:
            assert b"Subject: fallback" in f.read()
        wait_log(inst, r"kurir/lmtp\[\d+\]: \w+: to=<ivan@mx\.test>, relay=mx\.test\[private/dovecot-lmtp\], "
                       r".*status=sent ")
        inst.wait_queue_empty()


def test_luser_relay_takes_unknown_users(make_instance):
    inst = make_instance(luser_relay="root+$user", recipient_delimiter="+")
    inst.start()
    inst.send(SENDER, ["kurir-no-such-user@mx.test"], message("lost", "kurir-no-such-user@mx.test"))
    files = inst.wait_delivered("root", 1)
    with open(files[0], "rb") as f:
        raw = f.read()
    assert b"Subject: lost" in raw
    assert b"Delivered-To: root+kurir-no-such-user@mx.test\n" in raw
    wait_log(inst, r"kurir/local\[\d+\]: \w+: to=<kurir-no-such-user@mx\.test>, relay=local, .*status=sent "
                   r"\(delivered via luser_relay expansion\)$")
    assert not os.path.exists(os.path.join(inst.dir, "mail", "kurir-no-such-user"))


def test_luser_relay_to_an_unknown_address_bounces_as_a_loop(make_instance):
    inst = make_instance(luser_relay="kurir-no-such-relay")
    inst.start()
    inst.send(SENDER, ["kurir-no-such-user@mx.test"], message("loop", "kurir-no-such-user@mx.test"))
    wait_log(inst, r"kurir/local\[\d+\]: \w+: to=<kurir-no-such-user@mx\.test>, .*dsn=5\.4\.6, status=bounced ")
