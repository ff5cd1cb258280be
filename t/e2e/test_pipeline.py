"""Mail from SMTP to a Maildir through the real multi-process chain."""
import email
import os
import uuid

import pytest

from instance import wait_for


def message(subject, body="hello\n", msg_id=None):
    msg_id = msg_id or f"<{uuid.uuid4()}@client.test>"
    return (f"From: sender@client.test\r\nTo: alice@mx.test\r\nSubject: {subject}\r\n"
            f"Message-ID: {msg_id}\r\n\r\n{body}")


def test_one_message_lands_in_maildir_with_trace_headers(instance):
    refused = instance.send("sender@client.test", ["alice@mx.test"], message("first"))
    assert refused == {}
    files = instance.wait_delivered("alice", 1)
    with open(files[0], "rb") as f:
        raw = f.read()
    assert b"\r\n" not in raw, "mailboxes hold LF line endings"
    msg = email.message_from_bytes(raw)
    assert msg["Return-Path"] == "<sender@client.test>"
    assert msg["Delivered-To"] == "alice@mx.test"
    assert "by mx.test (kurir)" in msg["Received"]
    assert msg["Subject"] == "first"
    assert msg.get_payload() == "hello\n"
    instance.wait_queue_empty()
    # qmgr logs "removed" as it hands the unlink to its remover: wait for the
    # line, not the file.
    wait_for(lambda: "removed" in instance.log(), 10, "the removed log line")
    assert "status=sent (delivered to maildir)" in instance.log()
    for name in ("tmp", "cur"):
        assert os.path.isdir(os.path.join(instance.dir, "mail", "alice", name))


def test_missing_headers_are_added(instance):
    instance.send("sender@client.test", ["bob@mx.test"], "Subject: bare\r\n\r\nbody\r\n")
    files = instance.wait_delivered("bob", 1)
    msg = email.message_from_bytes(open(files[0], "rb").read())
    assert msg["Message-ID"] and msg["Message-ID"].endswith("@mx.test>")
    assert msg["Date"]


def test_daemons_run_with_least_privilege(instance):
    if instance.mode != "root":
        pytest.skip("privilege separation applies when run by root")
    # Make every service start: one message through the whole chain.
    instance.send("sender@client.test", ["alice@mx.test"], message("privs"))
    instance.wait_delivered("alice", 1)
    # local is root again once it logs (the file lands while it still
    # writes as the recipient).
    wait_for(lambda: "status=sent" in instance.log(), 20, "the delivery log line")
    import pwd
    kurir_uid = pwd.getpwnam("kurir").pw_uid
    seen = {}
    for _, uid, name in instance.processes():
        seen.setdefault(os.path.basename(name), set()).add(uid)
    assert seen.get("master") == {0}
    assert seen.get("local") == {0}
    for name in ("smtpd", "cleanup", "qmgr", "trivial-rewrite"):
        assert seen.get(name) == {kurir_uid}, f"{name} runs as {seen.get(name)}"
    st = os.stat(instance.maildir_files("alice")[0])
    assert st.st_uid == instance.default_privs_uid() != kurir_uid, \
        "mail for a name without an account is written with default_privs, not mail_owner"


def test_500_messages_from_20_clients_land_exactly_once(instance):
    ids = [f"<m{i}-{uuid.uuid4()}@client.test>" for i in range(500)]
    instance.send_concurrently(20, 25, lambda s, n, i: s.sendmail(
        "sender@client.test", ["carol@mx.test"], message("load", msg_id=ids[n + 20 * i])))
    files = instance.wait_delivered("carol", 500, timeout=120)
    got = []
    for path in files:
        with open(path, "rb") as f:
            got.append(email.message_from_bytes(f.read())["Message-ID"])
    assert sorted(got) == sorted(ids)
    instance.wait_queue_empty()


def test_first_deliveries_to_a_new_mailbox_at_once_are_not_deferred(make_instance):
    # Twenty messages at once to a user without a mailbox yet: the concurrent
    # local processes that each find it missing all deliver (as root, the
    # spool's Maildir must never be seen half made or still root's).
    inst = make_instance()
    inst.set(default_destination_concurrency_limit="10")
    inst.start()
    inst.send_concurrently(10, 2, lambda s, n, i: s.sendmail("s@client.test", ["nina@mx.test"], message(f"{n}-{i}")))
    inst.wait_delivered("nina", 20)
    assert "status=deferred" not in inst.log()
