"""always_bcc, sender_bcc_maps and recipient_bcc_maps (issue 16): blind
copies delivered as extra envelope recipients, named in no header."""


def test_blind_copies_from_the_three_sources(make_instance):
    inst = make_instance()
    inst.set(always_bcc="audit@mx.test",
             sender_bcc_maps=inst.build_map("sender_bcc", "boss@client.test outbox@mx.test\n"),
             recipient_bcc_maps=inst.build_map("recipient_bcc", "@mx.test inbox\n"))
    inst.start()
    inst.send("boss@client.test", ["sales@mx.test"], b"To: sales@mx.test\r\nSubject: bcc\r\n\r\nbody\r\n")
    for user in ("sales", "audit", "outbox", "inbox"):
        [path] = inst.wait_delivered(user, 1)
        data = open(path, "rb").read()
        assert data.startswith(b"Return-Path: <boss@client.test>\nDelivered-To: " + user.encode() + b"@mx.test\n")
        rest = data.split(b"\n", 2)[2]  # after Return-Path: and Delivered-To:
        assert b"audit" not in rest and b"outbox" not in rest and b"inbox" not in rest
    inst.wait_queue_empty()
    # sendmail mail gets them too; a copy asked for twice is delivered once.
    res = inst.sendmail("-f", "boss@client.test", "audit@mx.test", input=b"Subject: again\n\nbody\n")
    assert res.returncode == 0, res.stderr
    inst.wait_delivered("audit", 2)
    inst.wait_delivered("outbox", 2)
    inst.wait_queue_empty()
    assert len(inst.maildir_files("audit")) == 2
