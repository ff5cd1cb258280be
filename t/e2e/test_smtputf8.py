"""SMTPUTF8 (RFC 6531): smtpd offers it, UTF-8 addresses and headers reach a
Maildir byte for byte, the request stays with the message in the queue file
and the smtp client passes it on to a server that offers it; to one that
does not, an all-ASCII message goes without it and any other bounces 5.6.7,
as Postfix does."""
import email
import email.policy
import json
import os
import re
import smtplib
import subprocess

import pytest

from instance import PREFIX, wait_for
from peers import PostfixInstance, SmtpReceiver, postfix_usable

UE = "\u00fc"  # ü: two bytes in UTF-8
BODY = ("From: J\u00f6rg <j\u00f6rg@client.test>\r\nTo: \u00fc@mx.test\r\nSubject: Gr\u00fc\u00dfe\r\n"
        "Message-ID: <utf8-1@client.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
        "UTF-8 body: \u00e9\u00e8\r\n").encode()


def ehlo_keywords(inst):
    with inst.smtp() as s:
        s.ehlo("client.test")
        return set(s.esmtp_features)


def kurir_queue(inst, *args):
    res = subprocess.run([os.path.join(PREFIX, "sbin", "kurir-queue"), "-c", inst.dir, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_utf8_local_parts_delivered_byte_exact_through_alias_and_maildir(make_instance):
    inst = make_instance()
    inst.write_aliases(f"{UE}: amy\n")
    assert inst.newaliases().returncode == 0
    inst.start()
    assert "smtputf8" in ehlo_keywords(inst)
    with inst.smtp() as s:
        refused = s.sendmail(f"j\u00f6rg@client.test", [f"{UE}@mx.test", f"j\u00f6rg@mx.test"], BODY,
                             mail_options=["SMTPUTF8"])
    assert refused == {}
    alias_copy = open(inst.wait_delivered("amy", 1)[0], "rb").read()
    own_copy = open(inst.wait_delivered("j\u00f6rg", 1)[0], "rb").read()  # a Maildir of its own name
    for got in (alias_copy, own_copy):
        assert got.endswith(BODY.replace(b"\r\n", b"\n")), got
        assert got.startswith("Return-Path: <j\u00f6rg@client.test>\n".encode()), got
    assert f"Delivered-To: j\u00f6rg@mx.test\n".encode() in own_copy
    # The Received: header says the message came with SMTPUTF8 (RFC 6531 3.7.4).
    assert b"by mx.test (kurir) with UTF8SMTP id " in alias_copy
    # local logs a delivery just after the file is in new/: wait for the lines.
    wait_for(lambda: re.search(f"to=<{UE}@mx.test>, relay=local, .*status=sent \\(delivered via alias expansion\\)",
                               inst.log()), 20, "the alias delivery's log line")
    wait_for(lambda: re.search(f"to=<j\u00f6rg@mx.test>, .*status=sent", inst.log()), 20, "jörg's log line")


def test_utf8_without_smtputf8_as_postfix(make_instance):
    """Postfix 3.7's answers: a UTF-8 domain needs SMTPUTF8 (501), a UTF-8
    local part passes without it unless strict_smtputf8 (553 5.6.7); bytes
    that are not UTF-8 are refused (500)."""
    inst = make_instance()
    inst.start()
    with inst.smtp() as s:
        s.ehlo("client.test")
        assert s.docmd("MAIL FROM:<s@client.test> SMTPUTF8=yes") == (555, b"5.5.4 Unsupported option: SMTPUTF8=yes")
        s.sock.sendall(b"MAIL FROM:<\xff@client.test>\r\n")
        assert s.getreply() == (500, b"5.5.2 Error: bad UTF-8 syntax")
        assert s.docmd("MAIL FROM:<s@client.test>") == (250, b"2.1.0 Ok")
        s.sock.sendall(f"RCPT TO:<a@{UE}.test>\r\n".encode())
        assert s.getreply() == (501, b"5.1.3 Bad recipient address syntax")
        s.sock.sendall(f"RCPT TO:<{UE}@mx.test>\r\n".encode())
        assert s.getreply() == (250, b"2.1.5 Ok")
    inst.set(strict_smtputf8="yes")
    inst.kurir("reload")
    def refused_strictly():
        with inst.smtp() as s:
            s.ehlo("client.test")
            s.sock.sendall(f"MAIL FROM:<{UE}@client.test>\r\n".encode())
            return s.getreply() == (553, b"5.6.7 Must declare SMTPUTF8 to send unicode address")
    wait_for(refused_strictly, 30, "strict_smtputf8 after the reload")


def test_smtputf8_enable_no_offers_nothing(make_instance):
    inst = make_instance(smtputf8_enable="no")
    inst.start()
    assert "smtputf8" not in ehlo_keywords(inst)
    with inst.smtp() as s:
        s.ehlo("client.test")
        assert s.docmd("MAIL FROM:<s@client.test> SMTPUTF8") == (555, b"5.5.4 Unsupported option: SMTPUTF8")


def test_flag_kept_in_queue_file_and_passed_on_with_smtputf8(make_instance):
    with SmtpReceiver(smtputf8=True) as mx:
        inst = make_instance(relayhost=f"[127.0.0.1]:{mx.port}", defer_transports="smtp")
        inst.start()
        with inst.smtp() as s:
            s.sendmail(f"j\u00f6rg@client.test", [f"{UE}@remote.test"], BODY, mail_options=["SMTPUTF8"])
        wait_for(lambda: inst.queue_files("deferred"), 30, "the message waiting in deferred")
        qid = os.path.basename(inst.queue_files("deferred")[0])
        cat = subprocess.run([os.path.join(PREFIX, "sbin", "kurir-cat"), "-c", inst.dir, qid],
                             stdout=subprocess.PIPE).stdout
        assert b"smtputf8=yes" in cat, cat
        # kurir-queue shows the addresses byte for byte (JSON holds UTF-8 as it is).
        listed = [json.loads(line) for line in kurir_queue(inst, "-j").splitlines()]
        assert [(m["queue_id"], m["sender"], [r["address"] for r in m["recipients"]]) for m in listed] == \
            [(qid, f"j\u00f6rg@client.test", [f"{UE}@remote.test"])]
        mailq = kurir_queue(inst, "-p")
        assert f"j\u00f6rg@client.test".encode() in mailq and f"{UE}@remote.test".encode() in mailq, mailq
        inst.set(defer_transports="")
        inst.kurir("reload")
        kurir_queue(inst, "-f")
        msg = mx.wait_messages(1, timeout=60)[0]
        inst.wait_queue_empty()
    assert "SMTPUTF8" in msg.mail_options
    assert msg.mail_from == f"j\u00f6rg@client.test" and msg.rcpt_tos == [f"{UE}@remote.test"]
    assert msg.data.endswith(BODY), msg.data


def test_needs_utf8_but_next_hop_lacks_smtputf8_bounces_5_6_7(make_instance):
    with SmtpReceiver(smtputf8=False) as mx:
        inst = make_instance(relayhost=f"[127.0.0.1]:{mx.port}")
        inst.start()
        with inst.smtp() as s:
            s.sendmail("amy@mx.test", [f"{UE}@remote.test"], BODY, mail_options=["SMTPUTF8"])
        bounce = open(inst.wait_delivered("amy", 1)[0], "rb").read()
        inst.wait_queue_empty()
        assert mx.messages == [] and mx.transactions == 0
    notice = email.message_from_bytes(bounce, policy=email.policy.default)
    assert notice.get_content_type() == "multipart/report"
    status = [p for p in notice.iter_parts() if p.get_content_type() == "message/delivery-status"][0]
    blocks = [dict(b.items()) for b in status.get_payload()][1:]
    assert blocks[0]["Status"] == "5.6.7" and blocks[0]["Action"] == "failed"
    assert re.search(f"to=<{UE}@remote.test>, relay=127.0.0.1\\[127.0.0.1\\]:{mx.port}, .*dsn=5.6.7, "
                     r"status=bounced \(SMTPUTF8 is required, but was not offered by host 127.0.0.1\[127.0.0.1\]\)",
                     inst.log()), inst.log()


def test_ascii_message_flagged_smtputf8_goes_without_it(make_instance):
    ascii_msg = (b"From: s@client.test\r\nTo: r@remote.test\r\nSubject: plain\r\nMessage-ID: <a-1@client.test>\r\n"
                 b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nbody \xc3\xa9 is 8BITMIME's\r\n")
    with SmtpReceiver(smtputf8=False) as mx:
        inst = make_instance(relayhost=f"[127.0.0.1]:{mx.port}")
        inst.start()
        with inst.smtp() as s:
            s.sendmail("s@client.test", ["r@remote.test"], ascii_msg, mail_options=["SMTPUTF8"])
        msg = mx.wait_messages(1)[0]
        inst.wait_queue_empty()
    assert "SMTPUTF8" not in msg.mail_options
    assert msg.data.endswith(ascii_msg)


def test_sendmail_with_utf8_header_is_flagged_by_autodetect(make_instance):
    with SmtpReceiver(smtputf8=False) as mx:
        inst = make_instance(relayhost=f"[127.0.0.1]:{mx.port}")
        inst.start()
        res = inst.sendmail("-oi", "-f", "amy@mx.test", "r@remote.test",
                            input="Subject: Gr\u00fc\u00dfe\n\nhello\n".encode())
        assert res.returncode == 0, res.stderr
        bounce = open(inst.wait_delivered("amy", 1)[0], "rb").read()
        inst.wait_queue_empty()
        assert mx.messages == []
    assert b"Status: 5.6.7" in bounce


@pytest.mark.skipif(not postfix_usable(), reason="a private Postfix needs root and Debian's postfix")
def test_relayed_to_postfix_with_smtputf8_byte_exact(make_instance):
    with PostfixInstance() as pf:
        inst = make_instance(relayhost=f"[127.0.0.1]:{pf.port}")
        inst.start()
        with inst.smtp() as s:
            s.sendmail(f"j\u00f6rg@client.test", ["sink@pf.test"], BODY, mail_options=["SMTPUTF8"])
        wait_for(lambda: os.path.exists(pf.mbox_path) and b"UTF-8 body" in open(pf.mbox_path, "rb").read(), 30,
                 "Postfix's delivery")
        mbox = open(pf.mbox_path, "rb").read()
        inst.wait_queue_empty()
    assert mbox.startswith(f"From j\u00f6rg@client.test ".encode()), mbox
    assert BODY.replace(b"\r\n", b"\n") in mbox, mbox
    # Postfix's smtpd names an SMTPUTF8 session so in its Received: header.
    assert b"by pf.test (Postfix) with UTF8SMTP id " in mbox, mbox.decode(errors="replace")
    assert b"by mx.test (kurir) with UTF8SMTP id " in mbox  # and so does kurir's


def test_request_survives_alias_forwarding_and_requeue(make_instance):
    """local's forwarded copy and kurir-super -r's requeued file keep the
    sender's SMTPUTF8 request; smtp still passes it on after both."""
    def cat(inst, qid):
        return subprocess.run([os.path.join(PREFIX, "sbin", "kurir-cat"), "-c", inst.dir, qid],
                              stdout=subprocess.PIPE).stdout

    with SmtpReceiver(smtputf8=True) as mx:
        # Without autodetection the requeued copy has only its own record to go by.
        inst = make_instance(relayhost=f"[127.0.0.1]:{mx.port}", defer_transports="smtp",
                             smtputf8_autodetect_classes="verify")
        inst.write_aliases(f"fwd: {UE}@remote.test\n")
        assert inst.newaliases().returncode == 0
        inst.start()
        with inst.smtp() as s:
            s.sendmail(f"j\u00f6rg@client.test", ["fwd@mx.test"], BODY, mail_options=["SMTPUTF8"])
        wait_for(lambda: inst.queue_files("deferred"), 30, "the forwarded copy in deferred")
        first = os.path.basename(inst.queue_files("deferred")[0])
        assert b"smtputf8=yes" in cat(inst, first)
        res = subprocess.run([os.path.join(PREFIX, "sbin", "kurir-super"), "-c", inst.dir, "-r", first],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert res.returncode == 0, res.stderr

        def requeued():
            ids = [os.path.basename(p) for p in inst.queue_files("deferred")]
            return ids and first not in ids and ids
        again = wait_for(requeued, 30, "the requeued copy in deferred")[0]
        assert b"smtputf8=yes" in cat(inst, again)
        inst.set(defer_transports="")
        inst.kurir("reload")
        kurir_queue(inst, "-f")
        msg = mx.wait_messages(1, timeout=60)[0]
        inst.wait_queue_empty()
    assert "SMTPUTF8" in msg.mail_options and msg.rcpt_tos == [f"{UE}@remote.test"]


def test_bounce_notice_to_a_utf8_sender_keeps_the_request(make_instance):
    """A recipient refused by the next hop: the notice to the UTF-8 sender
    (relayed too) goes with SMTPUTF8, as the message did."""
    with SmtpReceiver(smtputf8=True, rcpt_reply={"bad@remote.test": "550 5.1.1 no such user"}) as mx:
        inst = make_instance(relayhost=f"[127.0.0.1]:{mx.port}")
        inst.start()
        with inst.smtp() as s:
            s.sendmail(f"j\u00f6rg@client.test", ["bad@remote.test"], BODY, mail_options=["SMTPUTF8"])
        notice = mx.wait_messages(1, timeout=60)[0]
        inst.wait_queue_empty()
    assert notice.mail_from == "<>" and notice.rcpt_tos == [f"j\u00f6rg@client.test"]
    assert "SMTPUTF8" in notice.mail_options
    assert b"Undelivered Mail Returned to Sender" in notice.data
