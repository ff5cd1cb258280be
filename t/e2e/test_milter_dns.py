"""A milter named by a host name (inet:NAME:port): smtpd looks the name up
on its loop with c-ares, so a slow DNS server stalls only the session that
waits for it; the lookup counts against milter_connect_timeout; a name that
does not resolve gets milter_default_action. cleanup's blocking driver
bounds its lookup the same way. The names live in the tests' DNS server
(peers.DnsServer, via dns_resolver_address), which holds answers until the
test releases them: no clock decides when a lookup ends."""
import re
import smtplib
import threading

import pytest

from instance import free_port, wait_for
from peers import DnsServer
from test_milter import MSG, delivered, log_has, milters, session  # noqa: F401 (milters: a fixture)

NAME = "milter.test"


def test_a_session_is_served_while_another_waits_for_its_milters_name(make_instance, milters):
    inst = make_instance()
    m = milters("add_header", inst.tmp)
    port = free_port()
    with DnsServer({NAME: {"A": ["127.0.0.1"]}}) as dns:
        inst.set(dns_resolver_address=dns.address, smtpd_milters=f"inet:{NAME}:{m.port}",
                 milter_connect_timeout="120s")
        # One smtpd process: both sessions are on its one loop.
        inst.add_service(f"127.0.0.1:{port} inet n - n - 1 smtpd")
        inst.start()
        dns.hold(NAME)
        greeted, result = threading.Event(), {}

        def first():
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                    greeted.set()
                    s.ehlo("first.test")
                    s.sendmail("s@client.test", ["alice@mx.test"], MSG)
                result["ok"] = True
            except Exception as e:  # reported by the main thread
                result["error"] = repr(e)

        t = threading.Thread(target=first)
        t.start()
        try:
            dns.wait_held(NAME)  # the first session's milter lookup has begun
            dns.stop_holding(NAME)
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                assert s.ehlo("second.test")[0] == 250
                assert s.noop()[0] == 250
            assert not greeted.is_set()  # its lookup is still held
        finally:
            dns.release(NAME)
            t.join(90)
        assert result == {"ok": True}
        msg = delivered(inst, "alice")
        assert msg["X-Milter-Added"] == "yes"
        connects = re.findall(r"kurir/smtpd\[(\d+)\]: connect from localhost", inst.log())
        assert len(set(connects)) == 1, connects  # one smtpd served both


@pytest.mark.parametrize("answer,error", [("NXDOMAIN", "Domain name not found"), ("DROP", "timeout")])
def test_a_milter_name_that_does_not_resolve_gets_the_default_action(make_instance, answer, error):
    inst = make_instance()
    with DnsServer({NAME: answer}) as dns:
        # DROP: c-ares alone would try for 2+4+8 seconds; the connect
        # timeout ends the lookup first.
        inst.set(dns_resolver_address=dns.address, smtpd_milters=f"inet:{NAME}:{free_port()}",
                 milter_connect_timeout="1s")
        inst.start()
        with session(inst) as s:
            s.ehlo("client.test")
            assert s.mail("s@client.test") == (451, b"4.7.1 Service unavailable - try again later")
        log_has(inst, rf"warning: milter inet:milter\.test:\d+: look up milter\.test: {error}")


def test_cleanup_looks_up_a_milters_name_through_dns_resolver_address(make_instance, milters):
    inst = make_instance()
    m = milters("add_header", inst.tmp)
    with DnsServer({NAME: {"A": ["127.0.0.1"]}}) as dns:
        inst.set(dns_resolver_address=dns.address, non_smtpd_milters=f"inet:{NAME}:{m.port}")
        inst.start()
        res = inst.sendmail("alice@mx.test", input=b"From: s@client.test\nSubject: hello\n\nbody\n")
        assert res.returncode == 0, res.stderr
        assert delivered(inst, "alice")["X-Milter-Added"] == "yes"


def test_cleanups_lookup_ends_at_milter_connect_timeout(make_instance):
    inst = make_instance()
    with DnsServer({NAME: "DROP"}) as dns:
        inst.set(dns_resolver_address=dns.address, non_smtpd_milters=f"inet:{NAME}:{free_port()}",
                 milter_connect_timeout="1s")
        inst.start()
        res = inst.sendmail("alice@mx.test", input=b"Subject: waits\n\nbody\n")
        assert res.returncode == 0, res.stderr
        log_has(inst, r"kurir/cleanup\[\d+\]: warning: \w+: milter inet:milter\.test:\d+: look up milter\.test: timeout")
        assert wait_for(lambda: inst.queue_files(), 30, "the message kept in the queue")
