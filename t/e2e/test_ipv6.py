"""inet_interfaces, inet_protocols and IPv6: which addresses master listens
on for a master.cf listener without a host of its own, mail in and out over
[::1] (smtpd's log and Received: header, $mynetworks with [::1]/128, smtp to
a relayhost [ipv6:::1]:port), smtp's address families and source address
(smtp_bind_address). Skipped only where the machine has no ::1."""
import email
import email.policy
import os
import re
import smtplib
import socket
import subprocess

import pytest

from instance import ipv6_loopback, wait_for
from peers import SmtpReceiver

NO_IPV6 = ipv6_loopback()
needs_ipv6 = pytest.mark.skipif(NO_IPV6 is not None, reason=NO_IPV6 or "")

MSG = (b"From: s@client.test\r\nTo: r@remote.test\r\nSubject: over IPv6\r\n"
       b"Message-ID: <v6-1@client.test>\r\n\r\nbody\r\n")


def listen_without_host(inst):
    """Turns the instance's `127.0.0.1:PORT inet ... smtpd` into `PORT inet
    ... smtpd`: inet_interfaces and inet_protocols decide the addresses."""
    path = os.path.join(inst.dir, "master.cf")
    text = open(path).read()
    assert f"127.0.0.1:{inst.port} " in text, text
    with open(path, "w") as f:
        f.write(text.replace(f"127.0.0.1:{inst.port} ", f"{inst.port} "))


def listeners(port):
    """{(address, port)} of the TCP sockets listening on port, from
    /proc/net/tcp and tcp6 (state 0A), addresses as text."""
    found = set()
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            lines = open(f"/proc/net/{name}").read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            hexaddr, hexport = local.split(":")
            if state != "0A" or int(hexport, 16) != port:
                continue
            raw = bytes.fromhex(hexaddr)
            # /proc writes each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(socket.inet_ntop(family, raw))
    return found


def non_loopback_addresses():
    """This machine's global addresses ("192.0.2.2", "fd00::2"), from ip(8)."""
    try:
        out = subprocess.run(["ip", "-o", "addr", "show"], stdout=subprocess.PIPE, text=True).stdout
    except FileNotFoundError:
        return []
    addrs = []
    for line in out.splitlines():  # one address a line
        m = re.search(r"\binet6? ([0-9a-f.:]+)/\d+ .*\bscope global\b", line)
        if m:
            addrs.append(m.group(1))
    return addrs


def refused(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.settimeout(10)
        return s.connect_ex((host, port)) != 0


def received(msg_bytes):
    return email.message_from_bytes(msg_bytes, policy=email.policy.compat32).get_all("Received")


@needs_ipv6
def test_loopback_only_listens_on_127_0_0_1_and_1_and_mail_comes_in_over_ipv6(make_instance):
    inst = make_instance(inet_interfaces="loopback-only")
    listen_without_host(inst)
    inst.start()
    # Every address accepts once `kurir start` has returned.
    assert listeners(inst.port) == {"127.0.0.1", "::1"}, listeners(inst.port)
    for addr in non_loopback_addresses():
        assert refused(addr, inst.port), addr
    with smtplib.SMTP("::1", inst.port, timeout=30) as s:
        s.sendmail("s@client.test", ["u@mx.test"], MSG)
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.sendmail("s@client.test", ["u@mx.test"], MSG)
    files = inst.wait_delivered("u", 2)
    headers = [received(open(f, "rb").read())[0] for f in files]
    assert any("(localhost [IPv6:::1])" in h for h in headers), headers
    assert any("(localhost [127.0.0.1])" in h for h in headers), headers
    log = inst.log()
    assert re.search(r"kurir/smtpd\[\d+\]: connect from localhost\[::1\]", log), log
    assert re.search(r"kurir/smtpd\[\d+\]: \w+: client=localhost\[::1\]", log), log


@needs_ipv6
def test_all_and_all_listen_on_both_wildcards(make_instance):
    inst = make_instance()  # inet_interfaces = all, inet_protocols = all: the defaults
    listen_without_host(inst)
    inst.start()
    assert listeners(inst.port) == {"0.0.0.0", "::"}, listeners(inst.port)
    for host in ["127.0.0.1", "::1"] + non_loopback_addresses():
        with socket.create_connection((host, inst.port), timeout=10) as s:
            assert s.recv(100).startswith(b"220 "), host


@needs_ipv6
def test_inet_protocols_ipv4_does_not_listen_on_ipv6(make_instance):
    inst = make_instance(inet_protocols="ipv4")
    listen_without_host(inst)
    inst.start()
    assert listeners(inst.port) == {"0.0.0.0"}, listeners(inst.port)
    assert refused("::1", inst.port)
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        assert s.noop()[0] == 250


@needs_ipv6
def test_reload_keeps_the_listeners_and_says_an_inet_interfaces_change_is_ignored(make_instance):
    inst = make_instance(inet_interfaces="loopback-only")
    listen_without_host(inst)
    inst.start()
    inst.set(inet_interfaces="127.0.0.1")
    inst.kurir("reload")
    wait_for(lambda: "ignoring inet_interfaces or inet_protocols change" in inst.log(), 20, "the warning")
    assert "to change inet_interfaces or inet_protocols, stop and start kurir" in inst.log()
    assert listeners(inst.port) == {"127.0.0.1", "::1"}
    with smtplib.SMTP("::1", inst.port, timeout=30) as s:
        assert s.noop()[0] == 250


@needs_ipv6
@pytest.mark.parametrize("relayhost", ["[::1]:{port}", "[ipv6:::1]:{port}"])
def test_mail_in_and_out_over_ipv6_relayed_by_mynetworks(make_instance, relayhost):
    with SmtpReceiver(host="::1") as mx:
        inst = make_instance(inet_interfaces="loopback-only", relayhost=relayhost.format(port=mx.port))
        listen_without_host(inst)
        inst.start()
        # ::1 is in the default $mynetworks ([::1]/128): relaying is allowed.
        with smtplib.SMTP("::1", inst.port, timeout=30) as s:
            s.sendmail("s@client.test", ["r@remote.test"], MSG)
        msg = mx.wait_messages(1)[0]
        inst.wait_queue_empty()
    assert msg.peer[0] == "::1", msg.peer
    assert msg.rcpt_tos == ["r@remote.test"]
    assert b"Subject: over IPv6\r\n" in msg.data and msg.data.endswith(b"\r\n\r\nbody\r\n"), msg.data
    assert "(localhost [IPv6:::1])" in received(msg.data)[0]
    assert re.search(r"kurir/smtp\[\d+\]: \w+: to=<r@remote.test>, relay=::1\[::1\]:%d, .*status=sent" % mx.port,
                     inst.log()), inst.log()


@needs_ipv6
def test_inet_protocols_ipv4_keeps_smtp_off_ipv6(make_instance):
    with SmtpReceiver(host="::1") as mx:
        inst = make_instance(inet_protocols="ipv4", relayhost=f"[ipv6:::1]:{mx.port}")
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], MSG)
        wait_for(lambda: "IPv6 is not in inet_protocols = ipv4" in inst.log(), 30, "the deferral")
        assert mx.connections == 0
    assert re.search(r"to=<r@remote.test>, relay=none, .*status=deferred \(.*::1: IPv6 is not in inet_protocols",
                     inst.log()), inst.log()


def test_smtp_bind_address_is_the_source_the_peer_sees(make_instance):
    with SmtpReceiver() as mx:
        inst = make_instance(relayhost=f"[127.0.0.1]:{mx.port}", smtp_bind_address="127.0.0.2")
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], MSG)
        msg = mx.wait_messages(1)[0]
    assert msg.peer[0] == "127.0.0.2", msg.peer


@pytest.mark.parametrize("setting, error", [
    ({"inet_protocols": "ipv5"}, 'inet_protocols: unknown protocol "ipv5" (want ipv4, ipv6 or all)'),
    ({"inet_interfaces": "all, 127.0.0.1"}, 'inet_interfaces: "all" must be the only value'),
    ({"inet_interfaces": "::1", "inet_protocols": "ipv4"}, "inet_interfaces: ::1: IPv6 is not in inet_protocols = ipv4"),
    ({"smtp_bind_address": "::1"}, "smtp_bind_address = ::1: not a numeric IPv4 address"),
])
def test_bad_address_settings_are_named_by_check_and_start(make_instance, setting, error):
    inst = make_instance(**setting)
    check = inst.kurir("check", check=False)
    assert check.returncode != 0 and error in check.stderr, check.stderr
    if "smtp_bind_address" not in setting:  # smtp's own: master starts, each smtp says it
        start = inst.kurir("start", check=False)
        assert start.returncode != 0 and error in start.stderr, start.stderr
        assert inst.kurir("status", check=False).returncode == 1


@needs_ipv6
def test_mynetworks_decides_relaying_for_an_ipv6_client(make_instance):
    inst = make_instance(inet_interfaces="loopback-only", mynetworks="127.0.0.0/8", relayhost="[127.0.0.1]:9")
    listen_without_host(inst)
    inst.start()
    # ::1 is not in this mynetworks: no relaying for it, but 127.0.0.1 may.
    with smtplib.SMTP("::1", inst.port, timeout=30, local_hostname="[IPv6:::1]") as s:
        assert s.ehlo()[0] == 250
        s.mail("s@client.test")
        code, text = s.rcpt("r@remote.test")
        assert (code, text[:5]) == (554, b"5.7.1"), (code, text)
    assert re.search(r"NOQUEUE: reject: RCPT from localhost\[::1\]: 554 5\.7\.1 <r@remote.test>: Relay access "
                     r"denied; from=<s@client.test> to=<r@remote.test> proto=ESMTP helo=<\[IPv6:::1\]>", inst.log())
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.mail("s@client.test")
        assert s.rcpt("r@remote.test")[0] == 250


@needs_ipv6
def test_starttls_on_both_addresses_of_a_listener_without_host(make_instance):
    """smtpd's TLS credentials (fd 5) and its second listening socket (fd 6)
    reach each process together."""
    from peers import tls_files
    from test_smtpd_tls import client_context, tls_instance
    files = tls_files(("mx.test", "localhost", "127.0.0.1", "::1"))
    inst = tls_instance(make_instance, files, inet_interfaces="loopback-only")
    listen_without_host(inst)
    inst.start()
    for host in ("::1", "127.0.0.1", "::1"):
        with smtplib.SMTP(host, inst.port, timeout=30) as s:
            s.starttls(context=client_context(files))
            s.sendmail("s@client.test", ["u@mx.test"], MSG)
    inst.wait_delivered("u", 3)
    assert len(re.findall(r"TLS connection established from localhost\[::1\]", inst.log())) == 2, inst.log()


@needs_ipv6
def test_smtp_bind_address6_is_the_source_the_peer_sees(make_instance):
    global6 = [a for a in non_loopback_addresses() if ":" in a]
    if not global6:
        pytest.skip("this machine has no global IPv6 address to send from")
    with SmtpReceiver(host="::1") as mx:
        inst = make_instance(relayhost=f"[ipv6:::1]:{mx.port}", smtp_bind_address6=global6[0])
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], MSG)
        msg = mx.wait_messages(1)[0]
    assert msg.peer[0] == global6[0], msg.peer


def test_one_non_loopback_inet_interfaces_address_is_the_smtp_source(make_instance):
    """Postfix's rule: inet_interfaces with just one non-loopback IPv4
    address makes it smtp's source too (smtp_bind_address = 0.0.0.0 would
    turn that off)."""
    global4 = [a for a in non_loopback_addresses() if ":" not in a]
    if not global4:
        pytest.skip("this machine has no global IPv4 address")
    with SmtpReceiver() as mx:
        # The instance's own listener is 127.0.0.1:PORT: inet_interfaces
        # changes nothing there.
        inst = make_instance(relayhost=f"[127.0.0.1]:{mx.port}", inet_interfaces=global4[0])
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], MSG)
        msg = mx.wait_messages(1)[0]
    assert msg.peer[0] == global4[0], msg.peer
