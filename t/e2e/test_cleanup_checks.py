"""cleanup's header_checks, mime_header_checks, body_checks and content
limits, as Postfix's header_checks(5), with regexp: and pcre: tables: the
SMTP client's reply, the log line in Postfix's form, and what lands in the
queue and in the Maildir."""
import email
import os
import re
import smtplib
import subprocess

import pytest

from instance import PREFIX, wait_for
from peers import SmtpReceiver

LOG_CONTEXT = "from localhost[127.0.0.1]; from=<s@client.test> to=<alice@mx.test> proto=ESMTP helo=<client.test>"


def table(inst, name, text, kind="regexp"):
    path = os.path.join(inst.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return f"{kind}:{path}"


def send(inst, msg, rcpts=("alice@mx.test",)):
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        return s.sendmail("s@client.test", list(rcpts), msg)


def data_reply(inst, msg):
    """The reply to the end of DATA: (code, text)."""
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        assert s.rcpt("alice@mx.test")[0] == 250
        return s.data(msg)


def log_lines(inst, pattern):
    return [l for l in inst.log().splitlines() if re.search(pattern, l)]


def wait_log(inst, pattern):
    return wait_for(lambda: log_lines(inst, pattern), 30, pattern)


def delivered(inst, user, count=1):
    files = inst.wait_delivered(user, count)
    with open(files[-1], "rb") as f:
        return f.read()


@pytest.mark.parametrize("kind", ["regexp", "pcre"])
def test_header_checks_reject_reaches_the_client_as_550_and_is_logged_as_postfix(make_instance, kind):
    inst = make_instance()
    inst.set(header_checks=table(inst, "header_checks",
                                 "/^Subject: .*viagra/ REJECT no pills here\n/^X-Spam: yes/ REJECT\n", kind))
    inst.start()
    assert data_reply(inst, b"Subject: buy viagra now\r\n\r\nbody\r\n") == (550, b"5.7.1 no pills here")
    assert data_reply(inst, b"Subject: hi\r\nX-Spam: yes\r\n\r\nbody\r\n") == (550, b"5.7.1 message content rejected")
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(inst, b"Subject: viagra again\r\n\r\nbody\r\n")
    assert e.value.smtp_code == 550
    assert wait_log(inst, r"kurir/cleanup\[\d+\]: \w+: reject: header Subject: buy viagra now " +
                    re.escape(LOG_CONTEXT + ": 5.7.1 no pills here") + "$")
    assert log_lines(inst, r": reject: header X-Spam: yes " + re.escape(LOG_CONTEXT) +
                     ": 5.7.1 message content rejected$")
    # Nothing was queued, other mail still flows.
    send(inst, b"Subject: fine\r\n\r\nbody\r\n")
    assert b"Subject: fine" in delivered(inst, "alice")
    inst.wait_queue_empty()
    assert len(inst.maildir_files("alice")) == 1


def test_header_checks_hold_parks_the_message_in_hold(make_instance):
    inst = make_instance()
    inst.set(header_checks=table(inst, "header_checks", "/^Subject: hold me/ HOLD look at it\n"))
    inst.start()
    send(inst, b"Subject: hold me please\r\n\r\nbody\r\n")
    assert wait_log(inst, r": hold: header Subject: hold me please " + re.escape(LOG_CONTEXT) + ": look at it$")
    held = inst.queue_files("hold")
    assert len(held) == 1
    queue_id = os.path.basename(held[0])
    res = subprocess.run([os.path.join(PREFIX, "sbin", "kurir-queue"), "-c", inst.dir, "-p"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert re.search(rf"^{queue_id}!\s", res.stdout, re.M), res.stdout
    send(inst, b"Subject: other\r\n\r\nbody\r\n")
    inst.wait_delivered("alice", 1)
    assert len(inst.maildir_files("alice")) == 1
    assert len(inst.queue_files("hold")) == 1


def test_header_checks_discard_accepts_and_drops(make_instance):
    inst = make_instance()
    inst.set(header_checks=table(inst, "header_checks", "/^Subject: drop/ DISCARD dropped it\n"))
    inst.start()
    send(inst, b"Subject: drop this\r\n\r\nbody\r\n")
    assert wait_log(inst, r": discard: header Subject: drop this " + re.escape(LOG_CONTEXT) + ": dropped it$")
    send(inst, b"Subject: keep this\r\n\r\nbody\r\n")
    assert b"Subject: keep this" in delivered(inst, "alice")
    inst.wait_queue_empty()
    assert len(inst.maildir_files("alice")) == 1


def test_ignore_replace_prepend_are_seen_in_the_mailbox(make_instance):
    inst = make_instance()
    inst.set(header_checks=table(inst, "header_checks",
                                 "/^X-Secret:/ IGNORE\n"
                                 "/^X-Mailer: (.*)/ REPLACE X-Old-Mailer: $1\n"
                                 "/^Subject:/ PREPEND X-Checked: yes\n"),
             body_checks=table(inst, "body_checks", "/^password: / REPLACE password: [removed]\n"))
    inst.start()
    send(inst, b"X-Secret: 42\r\nX-Mailer: Tool 1.0\r\nSubject: edited\r\n\r\nline\r\npassword: hunter2\r\nend\r\n")
    text = delivered(inst, "alice").decode()
    msg = email.message_from_string(text)
    assert msg["X-Secret"] is None
    assert msg["X-Mailer"] is None
    assert msg["X-Old-Mailer"] == "Tool 1.0"
    lines = text.split("\n")
    assert lines[lines.index("Subject: edited") - 1] == "X-Checked: yes"
    assert "password: [removed]\nend\n" in text
    assert "hunter2" not in text
    assert log_lines(inst, r": replace: header X-Mailer: Tool 1.0 " + re.escape(LOG_CONTEXT) +
                     ": X-Old-Mailer: Tool 1.0$")
    assert log_lines(inst, r": prepend: header Subject: edited " + re.escape(LOG_CONTEXT) + ": X-Checked: yes$")


def test_redirect_delivers_to_the_new_address_only(make_instance):
    inst = make_instance()
    inst.set(header_checks=table(inst, "header_checks", "/^Subject: redirect/ REDIRECT bob@mx.test\n"))
    inst.start()
    send(inst, b"Subject: redirect me\r\n\r\nbody\r\n", rcpts=("alice@mx.test", "carol@mx.test"))
    assert b"Subject: redirect me" in delivered(inst, "bob")
    assert wait_log(inst, r": redirect: header Subject: redirect me from localhost\[127.0.0.1\]; from=<s@client.test> "
                          r"to=<alice@mx.test> proto=ESMTP helo=<client.test>: bob@mx.test$")
    inst.wait_queue_empty()
    assert inst.maildir_files("alice") == [] and inst.maildir_files("carol") == []


def test_filter_sends_the_message_to_the_named_transport(make_instance):
    with SmtpReceiver() as filt:
        inst = make_instance()
        inst.set(header_checks=table(inst, "header_checks",
                                     f"/^Subject: scan me/ FILTER smtp:[127.0.0.1]:{filt.port}\n"))
        inst.start()
        send(inst, b"Subject: scan me\r\n\r\nbody\r\n")
        got = filt.wait_messages(1)[0]
        assert got.rcpt_tos == ["alice@mx.test"]
        assert b"Subject: scan me" in got.data
        assert log_lines(inst, r": filter: header Subject: scan me " + re.escape(LOG_CONTEXT) +
                         rf": smtp:\[127.0.0.1\]:{filt.port}$")
        send(inst, b"Subject: plain\r\n\r\nbody\r\n")
        assert b"Subject: plain" in delivered(inst, "alice")
        assert len(filt.messages) == 1


def test_mime_header_checks_see_attachment_headers(make_instance):
    inst = make_instance()
    inst.set(mime_header_checks=table(inst, "mime_header_checks",
                                      '/^Content-(Disposition|Type):.*name="?[^"]*\\.exe/ REJECT no executables\n'))
    inst.start()
    msg = (b"Subject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
           b"--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
           b"--XX\r\nContent-Type: application/octet-stream;\r\n\tname=\"run.exe\"\r\n\r\nAAAA\r\n--XX--\r\n")
    assert data_reply(inst, msg) == (550, b"5.7.1 no executables")
    assert log_lines(inst, r": reject: header Content-Type: application/octet-stream;\s+name=\"run.exe\" from ")


def test_body_checks_reject_and_body_checks_size_limit(make_instance):
    inst = make_instance()
    inst.set(body_checks=table(inst, "body_checks", "/^buy now$/ REJECT\n"), body_checks_size_limit="200")
    inst.start()
    assert data_reply(inst, b"Subject: a\r\n\r\nhello\r\nbuy now\r\n") == (550, b"5.7.1 message content rejected")
    assert log_lines(inst, r": reject: body buy now " + re.escape(LOG_CONTEXT) + ": 5.7.1 message content rejected$")
    # Past body_checks_size_limit nothing is inspected.
    late = b"Subject: b\r\n\r\n" + b"x" * 300 + b"\r\nbuy now\r\n"
    assert data_reply(inst, late)[0] == 250
    assert b"\nbuy now\n" in delivered(inst, "alice")


def test_long_lines_are_cut_at_line_length_limit_and_delivered_whole(make_instance):
    inst = make_instance()
    inst.set(line_length_limit="100", body_checks=table(inst, "body_checks", "/^b{100}$/ WARN a whole piece\n"))
    inst.start()
    line = b"b" * 250
    send(inst, b"Subject: long\r\nX-Long: " + b"h" * 300 + b"\r\n\r\n" + line + b"\r\nend\r\n")
    text = delivered(inst, "alice")
    # Delivery joins the pieces again, as Postfix's; body_checks saw pieces of 100.
    assert b"\n" + line + b"\nend\n" in text
    assert b"\nX-Long: " + b"h" * 300 + b"\n" in text
    assert len(log_lines(inst, r": warning: body b{100} " + re.escape(LOG_CONTEXT) + ": a whole piece$")) == 2


def test_sendmail_submission_rejected_by_header_checks_bounces_to_the_sender(make_instance):
    inst = make_instance()
    inst.set(header_checks=table(inst, "header_checks", "/^Subject: spam/ REJECT\n"))
    inst.start()
    res = inst.sendmail("alice@mx.test", input=b"Subject: spam from a user\n\nbody\n")
    assert res.returncode == 0, res.stderr  # as Postfix's sendmail: the maildrop took it
    lines = wait_log(inst, r"kurir/cleanup\[\d+\]: \w+: reject: header Subject: spam from a user from local; "
                           r"from=<[^>]+> to=<alice@mx.test>: 5.7.1 message content rejected$")
    sender = re.search(r"from=<([^>]+)>", lines[0]).group(1)
    assert wait_log(inst, r"kurir/pickup\[\d+\]: \w+: sender non-delivery notification: \w+")
    notice = delivered(inst, sender.split("@")[0]).decode()
    assert "message content rejected" in notice
    assert "Subject: spam from a user" in notice
    inst.wait_queue_empty()
    assert inst.maildir_files("alice") == []
    assert inst.queue_files("maildrop") == [] and not os.listdir(os.path.join(inst.dir, "queue", "corrupt"))


def test_a_broken_table_defers_never_passes_mail_unchecked(make_instance):
    inst = make_instance()
    path = os.path.join(inst.dir, "header_checks")
    inst.set(header_checks=table(inst, "header_checks", "/^Subject: spam/ REJECT\n/^X-(/ REJECT\n"))
    inst.start()
    code, text = data_reply(inst, b"Subject: spam\r\n\r\nbody\r\n")
    assert code == 451 and text.startswith(b"4.3.0"), (code, text)
    assert wait_log(inst, r"warning: \w+: header_checks map lookup problem -- message not accepted, try again later: "
                          + re.escape(f"header_checks: {path}, line 2"))
    inst.wait_queue_empty()
    assert inst.maildir_files("alice") == []
    # Repaired, it decides again.
    with open(path, "w") as f:
        f.write("/^Subject: spam/ REJECT\n")
    assert data_reply(inst, b"Subject: spam\r\n\r\nbody\r\n")[0] == 550
