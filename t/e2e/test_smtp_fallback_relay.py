"""smtp_fallback_relay (and its pre-2.3 name fallback_relay): when no server
of the destination takes a session (connection refused, a 4xx greeting, the
name not found), the message goes to the fallback relays, in order, before
it is deferred; a relay that answers 5xx to RCPT is not a reason to leave."""
import re

from instance import free_port, wait_for
from peers import DnsServer, SmtpReceiver

MESSAGE = (b"From: s@client.test\r\nTo: r@remote.test\r\nSubject: fallback\r\n"
           b"Message-ID: <fallback-1@client.test>\r\n\r\nby the back door\r\n")


def log_lines(inst, pattern):
    return [line for line in inst.log().splitlines() if re.search(pattern, line)]


def test_primary_refused_goes_to_the_fallback_relay(make_instance):
    closed = free_port()  # nothing listens there
    with SmtpReceiver() as fallback:
        inst = make_instance(relayhost=f"[127.0.0.1]:{closed}",
                             smtp_fallback_relay=f"[127.0.0.1]:{free_port()}, [127.0.0.1]:{fallback.port}")
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], MESSAGE)
        msg = fallback.wait_messages(1)[0]
        inst.wait_queue_empty()
    assert msg.rcpt_tos == ["r@remote.test"]
    assert log_lines(inst, r"connect to 127.0.0.1\[127.0.0.1\]:%d: Connection refused" % closed)
    assert log_lines(inst, r"to=<r@remote.test>, relay=127.0.0.1\[127.0.0.1\]:%d, .*status=sent" % fallback.port)


def test_4xx_greeting_and_unknown_domain_use_the_legacy_name(make_instance):
    zone = {"gone.test": {"A": "NXDOMAIN", "MX": "NXDOMAIN"}}
    with DnsServer(zone) as dns, SmtpReceiver(greeting_reply="421 4.3.2 busy") as busy, SmtpReceiver() as fallback:
        inst = make_instance(dns_resolver_address=dns.address, fallback_relay=f"[127.0.0.1]:{fallback.port}")
        inst.set(transport_maps=inst.build_map("transport", f"busy.test smtp:[127.0.0.1]:{busy.port}\n"))
        inst.start()
        inst.send("s@client.test", ["r@busy.test"], MESSAGE)
        inst.send("s@client.test", ["r@gone.test"], MESSAGE)
        msgs = fallback.wait_messages(2)
        inst.wait_queue_empty()
    assert sorted(m.rcpt_tos[0] for m in msgs) == ["r@busy.test", "r@gone.test"]
    assert busy.connections >= 1 and not busy.messages
    assert log_lines(inst, r"host 127.0.0.1\[127.0.0.1\] refused to talk to me: 421 4.3.2 busy")


def test_every_relay_down_defers_and_5xx_recipient_stays_bounced(make_instance):
    with SmtpReceiver(rcpt_reply={"bad@remote.test": "550 5.1.1 No such user"}) as mx, SmtpReceiver() as fallback:
        inst = make_instance(relayhost=f"[127.0.0.1]:{free_port()}", smtp_fallback_relay=f"[127.0.0.1]:{free_port()}")
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], MESSAGE)
        wait_for(lambda: log_lines(inst, r"to=<r@remote.test>, .*status=deferred \(connect to "), 30, "a deferral")
        inst.stop()
        # The relay answers, one recipient refused: bounced there, never sent to the fallback.
        inst2 = make_instance(relayhost=f"[127.0.0.1]:{mx.port}", smtp_fallback_relay=f"[127.0.0.1]:{fallback.port}")
        inst2.start()
        inst2.send("s@client.test", ["bad@remote.test", "r@remote.test"], MESSAGE)
        assert mx.wait_messages(1)[0].rcpt_tos == ["r@remote.test"]
        wait_for(lambda: log_lines(inst2, r"to=<bad@remote.test>, .*status=bounced"), 30, "the bounce")
        assert not [m for m in fallback.messages if "bad@remote.test" in m.rcpt_tos]
