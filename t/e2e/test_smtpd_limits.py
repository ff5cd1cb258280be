"""smtpd_client_connection_count_limit across every smtpd process of an
instance (counted by anvil), and what many idle connections from one address
leave for everyone else."""
import os
import resource
import socket
import subprocess
import time

import pytest

from instance import KURIR, wait_for
from smtp_raw import RawSMTP


@pytest.fixture(autouse=True)
def enough_fds():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < 1200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200) if hard == resource.RLIM_INFINITY
                                                else min(max(soft, 1200), hard), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def open_idle(port, n, source="127.0.0.1"):
    """n connections from source that send nothing; each with the first
    line it was sent (the greeting or a refusal), read with a deadline."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(60)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        socks.append(s)
    firsts = []
    for s in socks:
        buf = b""
        try:
            while b"\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
        except OSError:
            pass
        firsts.append(buf.split(b"\r\n")[0].decode(errors="replace"))
    return socks, firsts


def deliver_from(inst, source, user):
    s = socket.create_connection(("127.0.0.1", inst.port), timeout=30, source_address=(source, 0))
    c = RawSMTP.__new__(RawSMTP)
    c.sock, c.buf = s, b""
    with c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO fresh.test")[0] == 250
        assert c.cmd("MAIL FROM:<fresh@client.test>")[0] == 250
        assert c.cmd(f"RCPT TO:<{user}@mx.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        code, text = c.cmd("Subject: fresh\r\n\r\nstill served\r\n.")
        assert code == 250, text
        assert c.cmd("QUIT")[0] == 221
    inst.wait_delivered(user, 1)


def close_all(socks):
    for s in socks:
        s.close()


def test_eleventh_connection_from_one_address_gets_421(make_instance):
    inst = make_instance(smtpd_client_connection_count_limit="10",
                         smtpd_client_event_limit_exceptions="").start()
    socks, firsts = open_idle(inst.port, 11)
    try:
        assert all(f.startswith("220 ") for f in firsts[:10]), firsts
        assert firsts[10] == "421 4.7.0 mx.test Error: too many connections from 127.0.0.1", firsts[10]
        wait_for(lambda: "warning: Connection concurrency limit exceeded: 11 from localhost[127.0.0.1] "
                         "for service 127.0.0.1:" in inst.log(), what="the concurrency warning")
        deliver_from(inst, "127.0.0.2", "other")  # another address is served
    finally:
        close_all(socks)
    # The counts go when the connections do: the address is served again.
    def admitted():
        with RawSMTP(inst.port) as c:
            return c.reply()[0] == 220
    wait_for(admitted, what="a fresh connection from 127.0.0.1 after the others closed")


def test_exceptions_are_not_counted(make_instance):
    inst = make_instance(smtpd_client_connection_count_limit="2").start()  # $mynetworks: loopback
    socks, firsts = open_idle(inst.port, 5)
    try:
        assert all(f.startswith("220 ") for f in firsts), firsts
    finally:
        close_all(socks)


def test_a_thousand_idle_connections_leave_room_for_others(make_instance):
    """1,000 connections from 127.0.0.1 that say nothing: with the default
    limit (50) the rest are refused at once; a client from 127.0.0.2 still
    delivers."""
    inst = make_instance(smtpd_client_event_limit_exceptions="").start()
    socks, firsts = open_idle(inst.port, 1000)
    try:
        assert sum(f.startswith("220 ") for f in firsts) == 50, [f for f in firsts if not f.startswith("421")][:5]
        assert sum(f.startswith("421 4.7.0 ") for f in firsts) == 950
        deliver_from(inst, "127.0.0.2", "fresh")
    finally:
        close_all(socks)


def test_a_thousand_idle_connections_held_do_not_wedge_the_instance(make_instance):
    """The same 1,000 from an address the limit does not apply to: all are
    held (an smtpd process takes up to 1,000 clients, raising its soft
    open-file limit for them) and a fresh client is still served: no fd or
    process limit is met."""
    inst = make_instance().start()  # loopback is in $mynetworks: not counted
    socks, firsts = open_idle(inst.port, 1000)
    try:
        assert all(f.startswith("220 ") for f in firsts), [f for f in firsts if not f.startswith("220")][:5]
        assert inst.pids("smtpd")
        deliver_from(inst, "127.0.0.2", "fresh")
        assert "too many connections" not in inst.log()
        assert "allows" not in inst.log()
    finally:
        close_all(socks)


def test_an_open_file_limit_too_low_for_a_thousand_clients_spreads_them(make_instance):
    """Under a hard open-file limit of 200, an smtpd process takes (200 - 64)
    / 4 = 34 clients, says so, and master starts more processes for the
    rest: 100 idle sessions are all greeted, by at least 3 processes."""
    inst = make_instance()
    subprocess.run(inst._prefix() + [KURIR, "-c", inst.dir, "start"], check=True, timeout=90,
                   preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200)))
    inst.started = True
    socks, firsts = open_idle(inst.port, 100)
    try:
        assert all(f.startswith("220 ") for f in firsts), [f for f in firsts if not f.startswith("220")][:5]
        assert len(inst.pids("smtpd")) >= 3
        assert "the open file limit (200) allows 34 clients per process, not 1000" in inst.log()
        deliver_from(inst, "127.0.0.2", "fresh")
    finally:
        close_all(socks)


def test_smtpd_serves_when_anvil_is_down(make_instance):
    inst = make_instance(smtpd_client_event_limit_exceptions="")
    path = os.path.join(inst.dir, "master.cf")
    lines = [l for l in open(path) if not l.startswith("anvil")]
    with open(path, "w") as f:
        f.writelines(lines)
    inst.start()
    deliver_from(inst, "127.0.0.1", "alice")
    assert "serving the client without a connection count" in inst.log()


def test_message_recipient_and_connection_rates(make_instance):
    """Postfix's smtpd_client_*_rate_limit, counted by anvil per time unit
    across sessions and smtpd processes; exceptions are not counted."""
    import smtplib
    inst = make_instance(smtpd_client_event_limit_exceptions="", smtpd_client_message_rate_limit="2",
                         smtpd_client_recipient_rate_limit="3", smtpd_client_connection_rate_limit="5",
                         anvil_rate_time_unit="3600s").start()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:       # connection 1
        s.ehlo("client.test")
        assert s.mail("a@client.test")[0] == 250                     # message 1
        assert [s.rcpt(f"u{i}@mx.test")[0] for i in range(4)] == [250, 250, 250, 450]
        s.rset()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:       # connection 2
        s.ehlo("client.test")
        assert s.mail("a@client.test")[0] == 250                     # message 2
        s.rset()
        assert s.mail("a@client.test") == (450, b"4.7.1 Error: too much mail from 127.0.0.1")
    for _ in range(3):                                                 # connections 3 to 5
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
            assert s.noop()[0] == 250
    socks, firsts = open_idle(inst.port, 1)                            # connection 6
    close_all(socks)
    assert firsts[0] == "421 4.7.0 mx.test Error: too many connections from 127.0.0.1"
    log = inst.log()
    for line in ("warning: Recipient address rate limit exceeded: 4 from localhost[127.0.0.1] for service",
                 "warning: Message delivery request rate limit exceeded: 3 from localhost[127.0.0.1] for service",
                 "warning: Connection rate limit exceeded: 6 from localhost[127.0.0.1] for service"):
        assert line in log, log
    # Another address is counted on its own.
    socks, firsts = open_idle(inst.port, 1, source="127.0.0.2")
    close_all(socks)
    assert firsts[0].startswith("220 ")


def test_auth_and_new_tls_session_rates(make_instance):
    import base64
    import smtplib
    from peers import client_context
    from test_smtpd_tls import tls_instance
    inst = tls_instance(make_instance, smtpd_client_event_limit_exceptions="", smtpd_client_auth_rate_limit="2",
                        smtpd_client_new_tls_session_rate_limit="1", smtpd_sasl_auth_enable="yes",
                        smtpd_tls_auth_only="no")
    inst.kurir_passwd("alice", "s3cret pass")
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.starttls(context=client_context())[0] == 220
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.docmd("STARTTLS") == (454, b"4.7.0 Error: too many new TLS sessions from 127.0.0.1")
        wrong = "PLAIN " + base64.b64encode(b"\0alice\0wrong").decode()
        codes = [s.docmd("AUTH", wrong)[0] for _ in range(3)]
        assert codes == [535, 535, 450], codes
    log = inst.log()
    assert "warning: AUTH command rate limit exceeded: 3 from localhost[127.0.0.1]" in log
    assert "warning: New TLS session rate limit exceeded: 2 from localhost[127.0.0.1]" in log


def lower_open_files(pid, limit):
    """Sets pid's RLIMIT_NOFILE as its own user (prlimit(2) needs the
    target's uid and gid, or CAP_SYS_RESOURCE, which a test may lack)."""
    ids = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Uid", "Gid"):
                ids[key] = int(rest.split()[0])
    if os.geteuid() != 0:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
        return
    subprocess.run(["setpriv", f"--reuid={ids['Uid']}", f"--regid={ids['Gid']}", "--clear-groups", "--",
                    "prlimit", f"--pid={pid}", f"--nofile={limit}:{limit}"], check=True, timeout=30)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_an_smtpd_out_of_files_stops_accepting_and_another_serves(make_instance):
    """An smtpd whose accept() fails with EMFILE stops listening (and tells
    master it is busy) instead of spinning on the readable listener; master
    starts another smtpd, which greets the clients the first could not."""
    inst = make_instance().start()
    first_socks, firsts = open_idle(inst.port, 1)
    try:
        assert firsts[0].startswith("220 ")
        first = inst.pids("smtpd")[0]
        lower_open_files(first, len(os.listdir(f"/proc/{first}/fd")))
        socks, greetings = open_idle(inst.port, 4)
        first_socks += socks
        assert all(g.startswith("220 ") for g in greetings), greetings
        assert len(inst.pids("smtpd")) >= 2
        wait_for(lambda: "taking no more clients for now" in inst.log(), what="the EMFILE warning")
        before = cpu_ticks(first)
        time.sleep(1)
        assert cpu_ticks(first) - before < os.sysconf("SC_CLK_TCK") // 2, "the full smtpd spins"
        deliver_from(inst, "127.0.0.2", "fresh")
    finally:
        close_all(first_socks)
