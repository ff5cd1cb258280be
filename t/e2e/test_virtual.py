"""Virtual mailbox domains (issue 16): users without passwd accounts,
their mailboxes named by virtual_mailbox_maps under virtual_mailbox_base,
written with the ids of virtual_uid_maps/virtual_gid_maps; unknown users
refused at RCPT."""
import os
import smtplib

from instance import ensure_test_user, wait_for


def test_virtual_maildir_mbox_and_catch_all_without_accounts(make_instance):
    inst = make_instance(recipient_delimiter="+")
    owner = inst.account or ensure_test_user()
    base = inst.shared_dir("vmail")
    mailboxes = inst.build_map("vmailbox", "alice@virt.test virt.test/alice/\n"
                                           "bob@virt.test virt.test/bob.mbox\n"
                                           "@catch.test catch.test/all/\n")
    inst.set(virtual_mailbox_domains="virt.test catch.test", virtual_mailbox_maps=mailboxes,
             virtual_mailbox_base=base, virtual_uid_maps=f"static:{owner.pw_uid}",
             virtual_gid_maps=f"static:{owner.pw_gid}", mynetworks="192.0.2.0/24")
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        code, text = s.rcpt("nobody@virt.test")
        assert (code, text) == (550, b"5.1.1 <nobody@virt.test>: Recipient address rejected: "
                                     b"User unknown in virtual mailbox table")
        assert s.rcpt("bob+tag@virt.test")[0] == 250  # a stranger may send to a virtual domain
        s.rset()
    inst.send("s@client.test", ["alice@virt.test", "bob+tag@virt.test", "anyone@catch.test"],
              "Subject: virtual\r\n\r\nhello virtual\r\n")
    for rcpt in ("alice@virt.test", "bob+tag@virt.test", "anyone@catch.test"):
        wait_for(lambda: f"to=<{rcpt}>, relay=virtual" in inst.log() and "status=sent" in inst.log(), 30, rcpt)
    inst.wait_queue_empty()
    assert "status=sent (delivered to maildir)" in inst.log() and "status=sent (delivered to mailbox)" in inst.log()
    new = os.path.join(base, "virt.test", "alice", "new")
    [name] = os.listdir(new)
    data = open(os.path.join(new, name), "rb").read()
    assert data.startswith(b"Return-Path: <s@client.test>\nDelivered-To: alice@virt.test\n")
    assert b"hello virtual" in data
    mbox = os.path.join(base, "virt.test", "bob.mbox")
    assert open(mbox, "rb").read().startswith(b"From s@client.test ")
    assert len(os.listdir(os.path.join(base, "catch.test", "all", "new"))) == 1
    for path in (os.path.join(new, name), mbox):
        assert os.stat(path).st_uid == owner.pw_uid


def test_virtual_refuses_a_path_out_of_the_base_and_a_low_uid(make_instance):
    inst = make_instance()
    base = inst.shared_dir("vmail")
    mailboxes = inst.build_map("vmailbox", "evil@virt.test ../escape/\nlow@virt.test ok/\n")
    uids = inst.build_map("vuids", "evil@virt.test 5000\nlow@virt.test 1\n")
    inst.set(virtual_mailbox_domains="virt.test", virtual_mailbox_maps=mailboxes, virtual_mailbox_base=base,
             virtual_uid_maps=uids, virtual_gid_maps="static:5000")
    inst.start()
    inst.send("s@client.test", ["evil@virt.test", "low@virt.test"], "Subject: x\r\n\r\nx\r\n")
    for rcpt in ("evil@virt.test", "low@virt.test"):
        wait_for(lambda: f"to=<{rcpt}>, relay=virtual" in inst.log(), 30, rcpt)
    log = inst.log()
    assert "dsn=4.3.5, status=deferred (mail system configuration error)" in log
    assert "is not a safe path" in log and "uid below virtual_minimum_uid" in log
    assert not os.path.exists(os.path.join(inst.tmp, "escape"))
