"""What kurir delivered, read back the way users read it: a real Dovecot
(Debian's dovecot-imapd and dovecot-pop3d, started by the test with a
dovecot.conf of its own on free loopback ports, peers.Dovecot) serves the
Maildir and the mbox that local wrote, and Python's imaplib and poplib fetch
every message byte-exact: what the client sent, after the three header lines
kurir adds (Return-Path, Delivered-To, Received), each once.

The mailboxes hold LF line ends; Dovecot gives CRLF on the wire. A body line
that begins with "From " would come back as ">From " from the mbox (mboxo
quoting, which Dovecot does not undo, as with Postfix), so the messages here
have none."""
import imaplib
import mailbox
import os
import poplib
import pwd
import re

import pytest

from instance import wait_for
from peers import Dovecot, dovecot_usable

pytestmark = pytest.mark.skipif(not dovecot_usable(), reason="Dovecot needs root and Debian's dovecot-core")

SENDER = "s@client.test"
RCPT = "ivan@mx.test"
PASSWORD = "r3ad pass"
# Dovecot's locks as local takes them: the dot-lock first, then fcntl.
MBOX_LOCKS = "mbox_write_locks = dotlock fcntl\nmbox_read_locks = fcntl\n"


def message(n):
    """The n-th message as the client sends it: the headers cleanup would
    otherwise add given, a folded header, lines SMTP and POP3 dot-stuff,
    trailing white space, 8-bit text, and a body that grows with n."""
    return (f"From: Sender <{SENDER}>\r\nTo: <{RCPT}>\r\nSubject: retrieval {n}\r\n"
            f"Date: Sun, 06 Dec 2026 12:00:0{n} +0000\r\nMessage-ID: <retrieval-{n}@client.test>\r\n"
            "X-Folded: first part\r\n\tsecond part\r\n"
            f"\r\nbody {n}\r\n.a leading dot\r\n..two dots\r\n.\r\ntrailing space \r\n\r\n"
            "Gr\u00fc\u00dfe\r\n" + "".join(f"line {i} of message {n}\r\n" for i in range(n * 300))).encode()


def message_id(raw):
    return re.search(rb"^Message-ID: (<[^>]+>)\r?$", raw, re.M | re.I).group(1).decode()


def check_served(raw, sent):
    """raw, as Dovecot served it, is kurir's three added header lines and
    then exactly what was sent."""
    assert raw.endswith(sent), (raw[:600], sent[:600])
    added = raw[:len(raw) - len(sent)]
    fields = [f.lower() for f in re.findall(rb"^([!-9;-~]+):", added, re.M)]
    assert sorted(fields) == [b"delivered-to", b"received", b"return-path"], added
    assert added.startswith(f"Return-Path: <{SENDER}>\r\n".encode()), added
    assert f"\r\nDelivered-To: {RCPT}\r\n".encode() in added, added
    assert re.search(rb"\r\nReceived: from \S+ \(\S+ \[127\.0\.0\.1\]\)\r\n\tby mx\.test \(kurir\) with E?SMTP id \w+"
                     rb"\r\n\tfor <ivan@mx\.test>; .*\r\n$", added), added


def send_all(inst, sent):
    for raw in sent:
        inst.send(SENDER, [RCPT], raw)


def imap_messages(dove, user="ivan"):
    """{Message-ID: bytes} of INBOX, fetched with BODY.PEEK[]."""
    out = {}
    with imaplib.IMAP4("127.0.0.1", dove.imap_port, timeout=30) as m:
        m.login(user, PASSWORD)
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK", data
        for num in range(1, int(data[0]) + 1):
            typ, data = m.fetch(str(num), "(BODY.PEEK[])")
            assert typ == "OK", data
            raw = data[0][1]
            out[message_id(raw)] = raw
        m.logout()
    return out


def pop3_retrieve(p):
    """{Message-ID: bytes} of every message, by RETR on the session p
    (poplib has undone the dot-stuffing; the lines are put back with CRLF)."""
    out = {}
    count, _ = p.stat()
    for num in range(1, count + 1):
        resp, lines, octets = p.retr(num)
        assert resp.startswith(b"+OK"), resp
        raw = b"".join(line + b"\r\n" for line in lines)
        out[message_id(raw)] = raw
    return out


def pop3_session(dove, user="ivan"):
    p = poplib.POP3("127.0.0.1", dove.pop3_port, timeout=30)
    p.user(user)
    p.pass_(PASSWORD)
    return p


def pop3_messages(dove):
    p = pop3_session(dove)
    try:
        return pop3_retrieve(p)
    finally:
        p.quit()


def check_all(served, sent):
    assert sorted(served) == sorted(message_id(raw) for raw in sent)
    for raw in sent:
        check_served(served[message_id(raw)], raw)


def mailbox_owner(inst):
    """Dovecot reads as the user local delivered as (the owner of ivan's
    Maildir or mbox): the instance's user, or in root mode default_privs
    (kurirnobody), ivan having no account."""
    st = os.stat(os.path.join(inst.dir, "mail", "ivan"))
    return st.st_uid, st.st_gid


def test_maildir_read_back_over_imap_and_pop3(instance):
    sent = [message(n) for n in (1, 2, 3)]
    send_all(instance, sent)
    files = instance.wait_delivered("ivan", 3)
    instance.wait_queue_empty()
    on_disk = {}
    for path in files:
        with open(path, "rb") as f:
            raw = f.read()
        assert b"\r" not in raw, path  # LF in the mailbox, as Postfix writes it
        on_disk[message_id(raw)] = raw
    uid, gid = mailbox_owner(instance)
    location = f"maildir:{instance.dir}/mail/%u:INDEX=~/index:CONTROL=~/control"
    with Dovecot({"ivan": PASSWORD}, uid=uid, gid=gid, imap=True, pop3=True, mail_location=location) as dove:
        by_imap = imap_messages(dove)
        by_pop3 = pop3_messages(dove)
    check_all(by_imap, sent)
    check_all(by_pop3, sent)
    for mid, raw in on_disk.items():
        assert raw.replace(b"\n", b"\r\n") == by_imap[mid]


def locks_on(path):
    """/proc/locks' lines for path, split: [n, "POSIX", ..., type, ...] for a
    lock held, [n, "->", "POSIX", ..., type, ...] for one waited for."""
    ino = os.stat(path).st_ino
    with open("/proc/locks") as f:
        return [line.split() for line in f if re.search(rf":{ino} ", line)]


def mbox_entries(path):
    with open(path, "rb") as f:
        return f.read()


def mbox_instance(make_instance, sent, **params):
    """An instance delivering to mbox files DIR/mail/USER (no trailing
    slash), with the first three of sent delivered; returns it and the mbox."""
    inst = make_instance(**params)
    spool = os.path.join(inst.dir, "mail")
    inst.set(mail_spool_directory=spool)
    if inst.mode == "root":
        # Dot-locks are made beside the mbox, by local (as default_privs:
        # ivan has no account) and by Dovecot (as the mailbox's owner): the
        # spool is their group's to write, as Debian's /var/mail is group
        # mail's.
        os.chown(spool, -1, pwd.getpwnam("kurirnobody").pw_gid)
        os.chmod(spool, 0o775)
    inst.start()
    send_all(inst, sent[:3])
    path = os.path.join(inst.dir, "mail", "ivan")
    wait_for(lambda: os.path.exists(path) and mbox_entries(path).count(b"\nMessage-ID: <retrieval-") == 3, 60,
             "three messages in the mbox")
    inst.wait_queue_empty()
    return inst, path


def mbox_dovecot(inst, locks):
    """Dovecot on the instance's mbox files, its POP3 sessions keeping the
    mailbox locked (pop3_lock_session) with `locks`."""
    uid, gid = mailbox_owner(inst)
    return Dovecot({"ivan": PASSWORD}, uid=uid, gid=gid, imap=True, pop3=True,
                   mail_location=f"mbox:~/mail:INBOX={inst.dir}/mail/%u:INDEX=~/index",
                   extra=locks + "pop3_lock_session = yes\n")


def after_the_session(inst, dove, path, sent):
    """Once the session ends, the last message arrives; IMAP and POP3 serve
    every message byte-exact, and the mbox is whole."""
    wait_for(lambda: mbox_entries(path).count(b"\nMessage-ID: <retrieval-") == len(sent), 60,
             "the last message after the session")
    inst.wait_queue_empty()
    check_all(imap_messages(dove), sent)
    check_all(pop3_messages(dove), sent)
    assert "Error" not in dove.log(), dove.log()
    check_mbox(inst, path, sent)


def check_mbox(inst, path, sent):
    """The mbox holds every message once, each after a From_ line, and
    local said "delivered to mailbox" once for each."""
    raw = mbox_entries(path)
    assert raw.startswith(b"From ") and raw.endswith(b"\n\n") and b"\r" not in raw
    # Every message begins with a From_ line after an empty line, and only
    # these lines begin with "From " (no body line needed quoting).
    assert len(re.findall(rb"^From ", raw, re.M)) == len(sent)
    assert len(re.findall(rb"\n\nFrom \S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n", raw)) == len(sent) - 1
    box = mailbox.mbox(path, create=False)
    assert sorted(m["Message-ID"] for m in box) == sorted(message_id(s) for s in sent)
    assert all(m.get_from().startswith(SENDER + " ") for m in box)
    delivered = re.findall(r"to=<ivan@mx\.test>, relay=local, .*status=sent \(delivered to mailbox\)", inst.log())
    assert len(delivered) == len(sent), inst.log()


def test_mbox_appended_while_a_pop3_session_holds_it(make_instance):
    sent = [message(n) for n in (1, 2, 3, 4)]
    inst, path = mbox_instance(make_instance, sent)
    with mbox_dovecot(inst, MBOX_LOCKS) as dove:
        p = pop3_session(dove)
        try:
            # The session keeps the mbox locked (fcntl) until it ends (the
            # lock may come just after the reply to PASS) ...
            wait_for(lambda: any(l[1] == "POSIX" and "->" not in l for l in locks_on(path)), 60,
                     "the POP3 session's lock on the mbox")
            check_all(pop3_retrieve(p), sent[:3])
            size = os.path.getsize(path)
            send_all(inst, sent[3:])
            # ... so local, delivering the fourth message, waits for the lock
            # (a blocked fcntl request on the mbox), and writes nothing yet.
            wait_for(lambda: any(l[1] == "->" and l[4] == "WRITE" for l in locks_on(path)), 60,
                     "local waiting for the mbox lock")
            assert os.path.getsize(path) == size
            assert p.stat()[0] == 3
        finally:
            p.quit()
        after_the_session(inst, dove, path, sent)
    assert "status=deferred" not in inst.log(), inst.log()


def test_mbox_dot_locked_by_a_pop3_session_is_deferred_not_written(make_instance):
    # Dovecot with dot-locks alone (as where fcntl locks cannot be trusted,
    # on NFS): the POP3 session holds ivan.lock as long as it lasts. local
    # must not append under another's dot-lock, however long it is held
    # (it used to give up waiting and write anyway): it defers, and the
    # message arrives after the session.
    sent = [message(n) for n in (1, 2, 3, 4)]
    # local waits 2 s for the dot-lock (deliver_lock_attempts tries
    # deliver_lock_delay apart; 20 s by default).
    inst, path = mbox_instance(make_instance, sent, deliver_lock_attempts="3", deliver_lock_delay="1s")
    with mbox_dovecot(inst, "mbox_write_locks = dotlock\nmbox_read_locks = dotlock\n") as dove:
        p = pop3_session(dove)
        try:
            check_all(pop3_retrieve(p), sent[:3])
            assert os.path.exists(path + ".lock")  # taken at the first command
            size = os.path.getsize(path)
            send_all(inst, sent[3:])
            wait_for(lambda: re.search(r"to=<ivan@mx\.test>, relay=local, .*status=deferred \(cannot update mailbox "
                                       + re.escape(path) + r": unable to create lock file "
                                       + re.escape(path) + r"\.lock: File exists\)", inst.log()), 60,
                     "local's deferral")
            assert os.path.getsize(path) == size
            assert os.path.exists(path + ".lock")  # Dovecot's, left alone
            assert p.stat()[0] == 3
        finally:
            p.quit()
        after_the_session(inst, dove, path, sent)
