"""sender_dependent_relayhost_maps: trivial-rewrite resolves a remote
recipient to the relay its envelope sender's entry names (the address,
then @domain; DUNNO means $relayhost), so mail to the same recipient from
different senders leaves through different relays; transport_maps still
win."""
import re

from peers import SmtpReceiver


def message(sender):
    return (f"From: {sender}\r\nTo: r@remote.test\r\nSubject: per sender\r\n"
            f"Message-ID: <{sender}>\r\n\r\nfrom {sender}\r\n").encode()


def test_each_sender_leaves_through_its_own_relay(make_instance):
    with SmtpReceiver() as default, SmtpReceiver() as one, SmtpReceiver() as two, SmtpReceiver() as routed:
        inst = make_instance(relayhost=f"[127.0.0.1]:{default.port}")
        inst.set(sender_dependent_relayhost_maps=inst.build_map(
                     "sender_relay", f"alice@one.test [127.0.0.1]:{one.port}\n"
                                     f"bob@one.test DUNNO\n"
                                     f"@two.test [127.0.0.1]:{two.port}\n"),
                 transport_maps=inst.build_map("transport", f"routed.test smtp:[127.0.0.1]:{routed.port}\n"))
        inst.start()
        for sender in ("Alice@one.test", "carol@two.test", "bob@one.test", "dave@three.test"):
            inst.send(sender, ["r@remote.test"], message(sender))
        inst.send("alice@one.test", ["u@routed.test"], message("alice@one.test"))
        got = {"one": one.wait_messages(1), "two": two.wait_messages(1), "default": default.wait_messages(2),
               "routed": routed.wait_messages(1)}
        inst.wait_queue_empty()
    assert [m.mail_from for m in got["one"]] == ["Alice@one.test"]
    assert [m.mail_from for m in got["two"]] == ["carol@two.test"]
    assert sorted(m.mail_from for m in got["default"]) == ["bob@one.test", "dave@three.test"]
    assert [m.rcpt_tos for m in got["routed"]] == [["u@routed.test"]]
    assert re.search(r"to=<r@remote.test>, relay=127.0.0.1\[127.0.0.1\]:%d, .*status=sent" % two.port, inst.log())
