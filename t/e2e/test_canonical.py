"""canonical_maps, sender_canonical_maps, recipient_canonical_maps and
masquerade_domains (issue 16), applied by cleanup to the envelope and to
the headers, seen in the delivered message: Return-Path: and Delivered-To:
(the envelope), From: and To: (the headers), names and comments kept."""
from instance import wait_for


def delivered(inst, user):
    [path] = inst.wait_delivered(user, 1)
    with open(path, "rb") as f:
        return f.read()


def test_canonical_maps_rewrite_envelope_and_headers(make_instance):
    inst = make_instance()
    inst.set(sender_canonical_maps=inst.build_map("sender_canonical", "joe@client.test joe.smith@example.com\n"),
             recipient_canonical_maps=inst.build_map("recipient_canonical", "ann@mx.test alice\n"),
             canonical_maps=inst.build_map("canonical", "@old.test @mx.test\nbob.smith@mx.test bob\n"))
    inst.start()
    inst.send("joe@client.test", ["ann@mx.test", "bob.smith@old.test"],
              b"From: Joe Smith <joe@client.test> (at work)\r\n"
              b"To: \"Ann\" <ann@mx.test>,\r\n\tbob.smith@old.test\r\nSubject: canonical joe@client.test\r\n\r\nbody\r\n")
    alice = delivered(inst, "alice")
    assert alice.startswith(b"Return-Path: <joe.smith@example.com>\nDelivered-To: alice@mx.test\n")
    assert b"\nFrom: Joe Smith <joe.smith@example.com> (at work)\n" in alice
    assert b"\nTo: \"Ann\" <alice@mx.test>,\n\tbob@mx.test\n" in alice
    assert b"\nSubject: canonical joe@client.test\n" in alice  # not an address header
    bob = delivered(inst, "bob")
    assert bob.startswith(b"Return-Path: <joe.smith@example.com>\nDelivered-To: bob@mx.test\n")
    inst.wait_queue_empty()
    assert "to=<alice@mx.test>, orig_to=<ann@mx.test>, relay=local" in inst.log()


def test_canonical_classes_limit_rewriting_to_the_envelope(make_instance):
    inst = make_instance()
    inst.set(canonical_maps=inst.build_map("canonical", "joe@client.test joe.smith@example.com\n"),
             canonical_classes="envelope_sender, envelope_recipient")
    inst.start()
    inst.send("joe@client.test", ["carol@mx.test"], b"From: joe@client.test\r\nSubject: x\r\n\r\nbody\r\n")
    carol = delivered(inst, "carol")
    assert carol.startswith(b"Return-Path: <joe.smith@example.com>\n")
    assert b"\nFrom: joe@client.test\n" in carol


def test_masquerade_domains_with_exclusion_and_exceptions(make_instance):
    inst = make_instance()
    inst.set(masquerade_domains="!keep.example.com, example.com", masquerade_exceptions="root")
    inst.start()
    inst.send("joe@host.example.com", ["dave@mx.test"],
              b"From: joe@host.example.com\r\nTo: dave@mx.test, x@a.b.example.com, y@h.keep.example.com, "
              b"root@h.example.com\r\nSubject: masq\r\n\r\nbody\r\n")
    dave = delivered(inst, "dave")
    assert dave.startswith(b"Return-Path: <joe@example.com>\nDelivered-To: dave@mx.test\n")
    assert b"\nFrom: joe@example.com\n" in dave
    assert b"\nTo: dave@mx.test, x@example.com, y@h.keep.example.com, root@h.example.com\n" in dave
    # sendmail mail too; envelope recipients are not masqueraded by default (masquerade_classes).
    res = inst.sendmail("-f", "root@host.example.com", "erin@mx.test", input=b"From: sam@x.example.com\n\nbody\n")
    assert res.returncode == 0, res.stderr
    erin = delivered(inst, "erin")
    assert erin.startswith(b"Return-Path: <root@host.example.com>\nDelivered-To: erin@mx.test\n")
    assert b"\nFrom: sam@example.com\n" in erin
    wait_for(lambda: "to=<erin@mx.test>" in inst.log(), 30, "erin's log line")


def test_append_dot_mydomain(make_instance):
    # Postfix 3's default is no (user@host stays); with yes, user@host is user@host.$mydomain.
    inst = make_instance(append_dot_mydomain="yes")  # mydomain: "test", from the hostname mx.test
    inst.start()
    inst.send("s@client.test", ["frank@mx"], b"To: frank@mx\r\nSubject: dot\r\n\r\nbody\r\n")
    assert delivered(inst, "frank").startswith(b"Return-Path: <s@client.test>\nDelivered-To: frank@mx.test\n")
