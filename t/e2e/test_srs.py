"""SRS (srs_domain, srs_secrets): mail that an alias forwards to another
domain leaves with an SRS0 sender at srs_domain; a bounce to that address
is accepted only when its hash and time stamp are good and goes back to the
original sender; local mail and mail from our own domains keep their
sender; a secret moved to the second line still verifies. The receiver is
a Python SMTP server on loopback, the instance's relayhost. Hashes are
computed here too, independently (libsrs2's: base64 of HMAC-SHA1 over the
lower-cased fields), so kurir's addresses are checked against them."""
import base64
import hashlib
import hmac
import os
import pwd
import subprocess
import time

import pytest

from instance import wait_for
from peers import SmtpReceiver

STAMP_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def stamp(days_ago=0):
    day = int(time.time()) // 86400 - days_ago
    return STAMP_CHARS[(day >> 5) & 31] + STAMP_CHARS[day & 31]


def srs_hash(secret, *parts):
    mac = hmac.new(secret.encode(), "".join(parts).lower().encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()[:4]


def srs0(secret, user, host, srs_domain="mx.test", days_ago=0):
    ts = stamp(days_ago)
    return f"SRS0={srs_hash(secret, ts, host, user)}={ts}={host}={user}@{srs_domain}"


def write_secrets(inst, text):
    """DIR/srs-secrets, mode 0600, owned by whoever runs smtpd and smtp."""
    path = os.path.join(inst.dir, "srs-secrets")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    if inst.mode == "root":
        os.chown(path, pwd.getpwnam("kurir").pw_uid, -1)
    elif inst.account is not None:
        os.chown(path, inst.account.pw_uid, inst.account.pw_gid)
    return path


def srs_instance(make_instance, rx, secrets="n3w-secret\n", **params):
    # Loopback is not in mynetworks: the bounce is accepted because its
    # recipient is ours, not because the client may relay.
    inst = make_instance(relayhost=f"[127.0.0.1]:{rx.port}", mynetworks="192.0.2.0/24", srs_domain="mx.test",
                         **params)
    inst.set(srs_secrets=write_secrets(inst, secrets))
    inst.write_aliases("fwd: far@remote.test\nme: bob\n")
    assert inst.newaliases().returncode == 0
    return inst


def rcpt_reply(inst, sender, rcpt):
    with inst.smtp() as s:
        s.ehlo("client.test")
        s.mail(sender)
        return s.rcpt(rcpt)


def test_alias_forward_gets_srs0_and_the_bounce_returns_to_the_sender(make_instance):
    with SmtpReceiver() as rx:
        inst = srs_instance(make_instance, rx)
        inst.start()
        inst.send("Alice@Client.test", ["fwd@mx.test"], "Subject: fwd\r\n\r\nforward me\r\n")
        fwd = rx.wait_messages(1)[0]
        assert fwd.rcpt_tos == ["far@remote.test"]
        assert fwd.mail_from == srs0("n3w-secret", "Alice", "Client.test"), fwd.mail_from
        assert b"forward me" in fwd.data
        inst.wait_queue_empty()
        # The remote server bounces: a null sender to the SRS address.
        inst.send("", [fwd.mail_from], "Subject: Undelivered Mail Returned to Sender\r\n\r\nbounced\r\n")
        back = rx.wait_messages(2)[1]
        assert back.mail_from in ("", "<>")  # aiosmtpd keeps the null sender as "<>"
        assert back.rcpt_tos == ["Alice@Client.test"]
        assert b"bounced" in back.data
        inst.wait_queue_empty()
        assert "to=<Alice@Client.test>, relay=127.0.0.1" in inst.log()


def test_local_mail_and_our_own_senders_keep_their_sender(make_instance):
    with SmtpReceiver() as rx:
        inst = srs_instance(make_instance, rx)
        inst.start()
        # Local delivery, through an alias too: no SRS anywhere.
        inst.send("s@client.test", ["me@mx.test"], "Subject: local\r\n\r\nlocal\r\n")
        got = open(inst.wait_delivered("bob", 1)[0], "rb").read()
        assert got.startswith(b"Return-Path: <s@client.test>"), got[:200]
        # A sender of our own domain forwarded: unchanged.
        inst.send("owner@mx.test", ["fwd@mx.test"], "Subject: ours\r\n\r\nours\r\n")
        assert rx.wait_messages(1)[0].mail_from == "owner@mx.test"
        # Not forwarded (a local submission to a remote address): unchanged.
        res = inst.sendmail("-f", "s@client.test", "far@remote.test", input=b"Subject: direct\n\ndirect\n")
        assert res.returncode == 0, res.stderr
        assert rx.wait_messages(2)[1].mail_from == "s@client.test"
        inst.wait_queue_empty()


def test_forged_and_expired_srs_addresses_are_unknown_users(make_instance):
    with SmtpReceiver() as rx:
        inst = srs_instance(make_instance, rx)
        inst.start()
        good = srs0("n3w-secret", "s", "client.test")
        assert rcpt_reply(inst, "", good)[0] == 250
        forged = "SRS0=FAKE=" + good.split("=", 2)[2]
        code, text = rcpt_reply(inst, "", forged)
        assert (code, text.split(b" ")[0]) == (550, b"5.1.1"), text
        assert b"Hash invalid in SRS address" in text
        expired = srs0("n3w-secret", "s", "client.test", days_ago=30)
        code, text = rcpt_reply(inst, "", expired)
        assert code == 550 and b"5.1.1" in text and b"Time stamp out of date" in text, text
        assert rcpt_reply(inst, "", "SRS0=x@mx.test")[0] == 550
        # An SRS address at another domain is nobody's business of ours.
        assert rcpt_reply(inst, "", "SRS0=FAKE=AA=client.test=s@remote.test")[0] == 554
        assert "NOQUEUE: reject: RCPT from" in inst.log() and "User unknown (Hash invalid" in inst.log()
        assert rx.messages == []


def test_secret_rotation_first_signs_all_verify(make_instance):
    with SmtpReceiver() as rx:
        inst = srs_instance(make_instance, rx, secrets="# rotated\nn3w-secret\n0ld-secret\n")
        inst.start()
        made_before = srs0("0ld-secret", "s", "client.test", days_ago=3)
        inst.send("", [made_before], "Subject: late bounce\r\n\r\nlate\r\n")
        back = rx.wait_messages(1)[0]
        assert back.rcpt_tos == ["s@client.test"]
        inst.send("s@client.test", ["fwd@mx.test"], "Subject: fwd\r\n\r\nforward me\r\n")
        assert rx.wait_messages(2)[1].mail_from == srs0("n3w-secret", "s", "client.test")
        assert rcpt_reply(inst, "", srs0("n0t-a-secret", "s", "client.test"))[0] == 550
        inst.wait_queue_empty()


def test_unreadable_or_world_readable_secrets_defer_and_say_why(make_instance):
    with SmtpReceiver() as rx:
        inst = srs_instance(make_instance, rx)
        path = os.path.join(inst.dir, "srs-secrets")
        os.chmod(path, 0o644)
        inst.start()
        inst.send("s@client.test", ["fwd@mx.test"], "Subject: fwd\r\n\r\nforward me\r\n")
        wait_for(lambda: "readable by others" in inst.log(), 30, "the warning about srs_secrets")
        assert rx.messages == []  # never sent without SRS
        code, text = rcpt_reply(inst, "", srs0("n3w-secret", "s", "client.test"))
        assert code == 451, text
        os.chmod(path, 0o600)
        rx.wait_messages(1, timeout=30)
        assert rx.messages[0].mail_from.startswith("SRS0=")
        inst.wait_queue_empty()


def test_virtual_alias_forward_gets_srs_and_direct_recipients_do_not(make_instance):
    with SmtpReceiver() as rx:
        inst = srs_instance(make_instance, rx)
        inst.set(virtual_alias_maps=inst.build_map("virtual", "alias.test x\ninfo@alias.test far@remote.test\n"))
        inst.start()
        # One message, one delivery to the relayhost: the forwarded recipient
        # and the direct one go in transactions of their own.
        res = inst.sendmail("-f", "s@client.test", "info@alias.test", "carol@remote.test",
                            input=b"Subject: both\n\nboth\n")
        assert res.returncode == 0, res.stderr
        rx.wait_messages(2)
        inst.wait_queue_empty()
        by_rcpt = {tuple(m.rcpt_tos): m.mail_from for m in rx.messages}
        assert by_rcpt == {("far@remote.test",): srs0("n3w-secret", "s", "client.test"),
                           ("carol@remote.test",): "s@client.test"}, by_rcpt


def test_dot_forward_to_another_domain_gets_srs(make_instance):
    with SmtpReceiver() as rx:
        inst = srs_instance(make_instance, rx)
        if inst.mode != "root":
            pytest.skip("a .forward needs a system account with a home")
        home = os.path.join(inst.tmp, "home-srs")
        os.mkdir(home)
        if subprocess.run(["id", "kurirsrs"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["useradd", "--system", "--home-dir", "/nonexistent", "kurirsrs"], check=False)
        subprocess.run(["usermod", "--home", home, "kurirsrs"], check=True)
        acct = pwd.getpwnam("kurirsrs")
        os.chown(home, acct.pw_uid, acct.pw_gid)
        with open(os.path.join(home, ".forward"), "w") as f:
            f.write("far@remote.test\n")
        os.chown(os.path.join(home, ".forward"), acct.pw_uid, acct.pw_gid)
        inst.start()
        inst.send("s@client.test", ["kurirsrs@mx.test"], "Subject: dotfwd\r\n\r\nvia forward\r\n")
        msg = rx.wait_messages(1)[0]
        assert (msg.rcpt_tos, msg.mail_from) == (["far@remote.test"], srs0("n3w-secret", "s", "client.test"))
        inst.wait_queue_empty()
