"""local's mbox delivery: From_ lines, >From quoting, locking under
concurrent deliveries, parsed back by Python's mailbox module."""
import mailbox
import os


def test_concurrent_mbox_deliveries_stay_well_formed(make_instance):
    inst = make_instance()
    spool = inst.shared_dir("mbox-spool")
    inst.set(mail_spool_directory=spool, default_destination_concurrency_limit="10")
    inst.start()

    def send(s, n, i):
        body = f"From the start\r\nline {n}-{i}\r\n>From quoted\r\n" + "x" * (n * 100) + "\r\n"
        s.sendmail("s@client.test", ["ivan@mx.test"], f"Subject: m{n}-{i}\r\nMessage-ID: <m{n}-{i}@c>\r\n\r\n{body}")

    inst.send_concurrently(10, 10, send)
    inst.wait_queue_empty(timeout=60)
    path = os.path.join(spool, "ivan")
    box = mailbox.mbox(path)
    msgs = list(box)
    assert len(msgs) == 100
    assert sorted(m["Message-ID"] for m in msgs) == sorted(f"<m{n}-{i}@c>" for n in range(10) for i in range(10))
    for m in msgs:
        assert m.get_from().startswith("s@client.test ")
        payload = m.get_payload()
        assert payload.startswith(">From the start\n"), payload[:40]
        assert "\n>From quoted\n" in payload
        assert m["Return-Path"] == "<s@client.test>"
    assert not os.path.exists(path + ".lock")
    with open(path, "rb") as f:
        raw = f.read()
    assert raw.endswith(b"\n\n") and b"\r\n" not in raw


def test_recipient_delimiter_extension_goes_to_the_user(make_instance):
    inst = make_instance(recipient_delimiter="+").start()
    inst.send("s@client.test", ["judy+lists@mx.test"], "Subject: ext\r\n\r\nx\r\n")
    files = inst.wait_delivered("judy", 1)
    assert b"Delivered-To: judy+lists@mx.test" in open(files[0], "rb").read()
