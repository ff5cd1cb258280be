"""smtpd_milters with a real milter (pymilter, t/e2e/milter_script.py) on
loopback: a refusal at each stage is that command's SMTP reply; every
modification action lands in the delivered message or the queue; a milter
that dies, hangs or answers garbage gets milter_default_action and the
message is never half-applied; master.cf's -o smtpd_milters= per service."""
import email
import json
import os
import re
import signal
import smtplib
import socket
import subprocess
import threading

import pytest

from instance import free_port, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))


class MilterProcess:
    def __init__(self, behaviour, tmp):
        self.port = free_port()
        self.record = os.path.join(tmp, f"milter-{self.port}.jsonl")
        open(self.record, "w").close()
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "milter_script.py"), str(self.port),
                                      behaviour, self.record], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(self.listening, 30, "the milter's port")

    def listening(self):
        assert self.proc.poll() is None, self.proc.stderr.read().decode()
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def spec(self):
        return f"inet:127.0.0.1:{self.port}"

    def events(self):
        with open(self.record) as f:
            return [json.loads(l) for l in f if l.strip()]

    def stages(self):
        return [e["stage"] for e in self.events()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def milters():
    started = []

    def start(behaviour, tmp):
        m = MilterProcess(behaviour, tmp)
        started.append(m)
        return m

    yield start
    for m in started:
        m.stop()


def milter_instance(make_instance, milters, behaviour, **params):
    inst = make_instance()
    m = milters(behaviour, inst.tmp)
    inst.set(smtpd_milters=m.spec(), **params)
    inst.start()
    return inst, m


MSG = ("From: s@client.test\r\nTo: alice@mx.test\r\nSubject: hello\r\nX-Remove-Me: please\r\n\r\n"
       "the body\r\n")


def session(inst):
    s = smtplib.SMTP("127.0.0.1", inst.port, timeout=60)
    return s


def delivered(inst, user, count=1):
    files = inst.wait_delivered(user, count)
    with open(files[-1], "rb") as f:
        return email.message_from_bytes(f.read())


def log_has(inst, pattern):
    return wait_for(lambda: re.search(pattern, inst.log()), 30, pattern)


def test_a_message_passes_every_stage_with_the_macros_postfix_sends(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "pass")
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    msg = delivered(inst, "alice")
    assert msg["Subject"] == "hello"
    events = m.events()
    stages = [e["stage"] for e in events]
    for stage in ("connect", "helo", "mail", "rcpt", "data", "header", "eoh", "body", "eom"):
        assert stage in stages, stages
    connect = events[stages.index("connect")]
    assert connect["macros"]["j"] == "mx.test"
    assert connect["macros"]["{daemon_name}"] == "mx.test"
    assert connect["macros"]["_"].endswith("[127.0.0.1]")
    assert connect["macros"]["v"].startswith("kurir")
    assert events[stages.index("mail")]["sender"] == "<s@client.test>"
    assert events[stages.index("mail")]["macros"]["{mail_addr}"] == "s@client.test"
    assert events[stages.index("rcpt")]["macros"]["{rcpt_addr}"] == "alice@mx.test"
    headers = [(e["name"], e["value"]) for e in events if e["stage"] == "header"]
    assert ("Subject", "hello") in headers
    body = "".join(e["text"] for e in events if e["stage"] == "body")
    assert body == "the body\r\n"
    assert re.fullmatch(r"[0-9A-Za-z]+", events[stages.index("eom")]["macros"]["i"])


@pytest.mark.parametrize("stage,command", [("connect", "ehlo"), ("helo", "ehlo"), ("mail", "mail"),
                                           ("rcpt", "rcpt"), ("data", "data"), ("header", "eom"),
                                           ("eoh", "eom"), ("body", "eom"), ("eom", "eom")])
def test_a_reject_at_each_stage_is_that_commands_reply(make_instance, milters, stage, command):
    inst, m = milter_instance(make_instance, milters, "reject_" + stage)
    with session(inst) as s:
        code, _ = s.ehlo("client.test")
        if command == "ehlo":  # after connect: the greeting, then every command refused
            assert code == 550
            if stage == "connect":
                assert s.mail("s@client.test") == (550, b"5.7.1 Command rejected")
                log_has(inst, r"NOQUEUE: milter-reject: CONNECT from localhost\[127\.0\.0\.1\]: 550 5\.7\.1 Command rejected")
            return
        assert code == 250
        code, text = s.mail("s@client.test")
        if command == "mail":
            assert (code, text) == (550, b"5.7.1 Command rejected")
            log_has(inst, r"NOQUEUE: milter-reject: MAIL from localhost\[127\.0\.0\.1\]: 550 5\.7\.1 Command rejected;"
                          r" from=<s@client\.test> proto=ESMTP helo=<client\.test>")
            return
        assert code == 250
        code, text = s.rcpt("alice@mx.test")
        if command == "rcpt":
            assert (code, text) == (550, b"5.7.1 Command rejected")
            log_has(inst, r"milter-reject: RCPT from .* to=<alice@mx\.test>")
            return
        assert code == 250
        if command == "data":
            assert s.docmd("DATA") == (550, b"5.7.1 Command rejected")
        else:
            code, text = s.data(MSG)
            assert (code, text) == (550, b"5.7.1 Command rejected")
            log_has(inst, r"milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 550 5\.7\.1 Command rejected")
        # the session goes on: the next message is accepted
        assert s.rset()[0] == 250
        assert s.noop()[0] == 250
    assert not inst.maildir_files("alice")
    assert not inst.queue_files()


def test_tempfail_and_a_multiline_reply_code(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "tempfail_rcpt")
    with session(inst) as s:
        s.ehlo("client.test")
        s.mail("s@client.test")
        assert s.rcpt("alice@mx.test") == (451, b"4.7.1 Service unavailable - try again later")
    inst2, m2 = milter_instance(make_instance, milters, "reply_mail")
    with session(inst2) as s:
        s.ehlo("client.test")
        code, text = s.mail("s@client.test")
        assert code == 554
        assert text == b"5.7.0 first line\n5.7.0 second line"


def test_one_recipient_refused_the_others_get_the_message(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "reject_rcpt_bob")
    with session(inst) as s:
        s.ehlo("client.test")
        s.mail("s@client.test")
        assert s.rcpt("alice@mx.test")[0] == 250
        assert s.rcpt("bob@mx.test")[0] == 550
        assert s.data(MSG)[0] == 250
    delivered(inst, "alice")
    assert not inst.maildir_files("bob")


def test_discard_answers_250_and_delivers_nothing(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "discard_eom")
    with session(inst) as s:
        s.ehlo("client.test")
        code, text = s.sendmail("s@client.test", ["alice@mx.test"], MSG) or (250, b"")
    log_has(inst, r"milter-discard: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: milter triggers DISCARD action")
    assert not inst.queue_files()
    assert not inst.maildir_files("alice")


def test_accept_at_mail_stops_asking_for_that_message(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "accept_mail")
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    delivered(inst, "alice")
    assert "rcpt" not in m.stages() and "eom" not in m.stages()


def test_skip_in_the_body_still_ends_the_message(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "skip_body")
    body = "".join(f"line {i} " + "x" * 70 + "\r\n" for i in range(3000))  # several 64 KB chunks
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], "Subject: big\r\n\r\n" + body)
    delivered(inst, "alice")
    assert m.stages().count("body") == 1
    assert "eom" in m.stages()


def assert_every_edit_applied(inst):
    """What the "edits" milter did, seen in the mailboxes: carol added with
    the changed message, bob deleted."""
    msg = delivered(inst, "carol")
    assert msg["X-Milter-Added"] == "yes"
    assert msg["Subject"] == "changed subject"
    assert msg["X-Remove-Me"] is None
    assert msg["Return-Path"] == "<new-sender@client.test>"
    assert msg.get_payload() == "the milter's body\nsecond line\n"
    delivered(inst, "alice")
    inst.wait_queue_empty()
    assert not inst.maildir_files("bob")


def test_every_edit_is_applied(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "edits")
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test", "bob@mx.test"], MSG)
    assert_every_edit_applied(inst)


def test_insert_header_at_an_index(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "insert_header")
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    files = inst.wait_delivered("alice", 1)
    with open(files[0]) as f:
        names = [l.split(":")[0] for l in f.read().split("\n\n")[0].splitlines() if not l[:1].isspace()]
    # as Postfix: index 1 is below cleanup's own Received: (which the
    # milter never saw), above the client's first field
    # (test_milter_positions.py compares with Postfix itself)
    assert names[names.index("Received"):names.index("From") + 1] == ["Received", "X-Inserted", "From"], names


def test_quarantine_puts_the_message_on_hold(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "quarantine")
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    wait_for(lambda: inst.queue_files("hold"), 30, "a message in hold")
    log_has(inst, r"milter-hold: held by the test milter")
    assert not inst.maildir_files("alice")


def test_progress_keeps_the_milter_going(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "progress")
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    assert delivered(inst, "alice")["X-Milter-Added"] == "after progress"


@pytest.mark.parametrize("behaviour", ["die_mail", "hang_mail", "die_eom_after_edit"])
@pytest.mark.parametrize("action", ["tempfail", "accept", "reject"])
def test_a_broken_milter_gets_milter_default_action(make_instance, milters, behaviour, action):
    inst, m = milter_instance(make_instance, milters, behaviour, milter_default_action=action,
                              milter_command_timeout="2s", milter_content_timeout="2s")
    with session(inst) as s:
        s.ehlo("client.test")
        code, _ = s.mail("s@client.test")
        if behaviour != "die_eom_after_edit":
            expected = {"tempfail": 451, "reject": 550, "accept": 250}[action]
            assert code == expected
            if code != 250:
                log_has(inst, rf"warning: milter inet:127\.0\.0\.1:{m.port}: ")
                return
        assert code == 250
        assert s.rcpt("alice@mx.test")[0] == 250
        code, _ = s.data(MSG)
        expected = {"tempfail": 451, "reject": 550, "accept": 250}[action]
        assert code == expected
    if action == "accept":
        msg = delivered(inst, "alice")
        assert msg["Subject"] == "hello"
        assert msg["X-Half-Applied"] is None  # never half-applied
    else:
        assert not inst.queue_files()


def test_a_milter_that_answers_garbage_gets_the_default_action(make_instance):
    inst = make_instance()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            c.recv(1024)
            c.sendall(b"\x00\x00\x00\x05Zjunk")  # an unknown reply instead of OPTNEG
            c.close()

    threading.Thread(target=serve, daemon=True).start()
    inst.set(smtpd_milters=f"inet:127.0.0.1:{srv.getsockname()[1]}")
    inst.start()
    try:
        with session(inst) as s:
            s.ehlo("client.test")
            assert s.mail("s@client.test") == (451, b"4.7.1 Service unavailable - try again later")
        log_has(inst, r"warning: milter inet:127\.0\.0\.1:\d+: .*")
    finally:
        srv.close()


def test_a_milter_that_is_not_there_gets_the_default_action(make_instance):
    inst = make_instance()
    inst.set(smtpd_milters=f"inet:127.0.0.1:{free_port()}", milter_default_action="accept")
    inst.start()
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    delivered(inst, "alice")
    log_has(inst, r"warning: milter inet:127\.0\.0\.1:\d+: Connection refused")


def test_master_cf_override_per_service(make_instance, milters):
    inst = make_instance()
    m = milters("reject_mail", inst.tmp)
    other = free_port()
    inst.set(smtpd_milters=m.spec())
    inst.add_service(f"127.0.0.1:{other} inet n - n - - smtpd\n  -o smtpd_milters=")
    inst.start()
    with session(inst) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 550
    with smtplib.SMTP("127.0.0.1", other, timeout=60) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    delivered(inst, "alice")


def test_unknown_commands_reach_the_milter(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "reject_unknown")
    with session(inst) as s:
        s.ehlo("client.test")
        assert s.docmd("FOOBAR x")[0] == 550
    assert "unknown" in m.stages()


def test_unix_socket_milter(make_instance, milters):
    inst = make_instance()
    path = os.path.join(inst.tmp, "milter.sock")
    env_behaviour = "add_header"
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "milter_script.py"), "0", env_behaviour,
                             os.path.join(inst.tmp, "unix.jsonl"), path], stderr=subprocess.PIPE)
    try:
        wait_for(lambda: os.path.exists(path), 30, "the milter's socket")
        inst.set(smtpd_milters=f"unix:{path}")
        inst.start()
        with session(inst) as s:
            s.ehlo("client.test")
            s.sendmail("s@client.test", ["alice@mx.test"], MSG)
        assert delivered(inst, "alice")["X-Milter-Added"] == "yes"
    finally:
        proc.kill()
        proc.wait()


def dkim_txt(path):
    """The p= record of opendkim-genkey's SELECTOR.txt, as DNS gives it."""
    with open(path) as f:
        return "".join(re.findall(r'"([^"]*)"', f.read())).encode()


def test_opendkim_signs_through_smtpd_milters_and_dkimpy_verifies(make_instance):
    import dkim
    inst = make_instance()
    keys = os.path.join(inst.tmp, "keys")
    os.mkdir(keys)
    subprocess.run(["opendkim-genkey", "-b", "2048", "-d", "client.test", "-s", "sel", "-D", keys], check=True)
    port = free_port()
    conf = os.path.join(inst.tmp, "opendkim.conf")
    with open(conf, "w") as f:
        f.write(f"""Syslog no
Mode s
Domain client.test
Selector sel
KeyFile {keys}/sel.private
Socket inet:{port}@127.0.0.1
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
RequireSafeKeys false
PidFile {inst.tmp}/opendkim.pid
""")
    proc = subprocess.Popen(["/usr/sbin/opendkim", "-f", "-x", conf], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def listening():
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(listening, 30, "opendkim's port")
        inst.set(smtpd_milters=f"inet:127.0.0.1:{port}")
        inst.start()
        msg = ("From: Sender <s@client.test>\r\nTo: alice@mx.test\r\nSubject: signed by opendkim\r\n"
               "Date: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@client.test>\r\n\r\n"
               "caf\u00e9 body line\r\n\r\nlast line\r\n").encode()
        with session(inst) as s:
            s.ehlo("client.test")
            s.sendmail("s@client.test", ["alice@mx.test"], msg)
        files = inst.wait_delivered("alice", 1)
        with open(files[0], "rb") as f:
            raw = f.read()
        assert b"DKIM-Signature:" in raw
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        txt = dkim_txt(os.path.join(keys, "sel.txt"))
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: txt if name.startswith(b"sel._domainkey.client.test") else None)
    finally:
        proc.kill()
        proc.wait()


def non_smtpd_instance(make_instance, milters, behaviour):
    inst = make_instance()
    m = milters(behaviour, inst.tmp)
    inst.set(non_smtpd_milters=m.spec())
    inst.start()
    return inst, m


def test_non_smtpd_milters_see_and_edit_sendmail_mail(make_instance, milters):
    inst, m = non_smtpd_instance(make_instance, milters, "edits")
    res = inst.sendmail("alice@mx.test", "bob@mx.test",
                        input=b"From: s@client.test\nSubject: hello\nX-Remove-Me: please\n\nthe body\n")
    assert res.returncode == 0, res.stderr
    assert_every_edit_applied(inst)
    stages = m.stages()
    for stage in ("connect", "helo", "mail", "rcpt", "header", "eoh", "body", "eom"):
        assert stage in stages, stages
    # cleanup's own Received: (folded over two lines) is not shown, as Postfix shows not its own
    assert [e["name"] for e in m.events() if e["stage"] == "header"] == ["From", "Subject", "X-Remove-Me",
                                                                          "Message-ID", "Date"]


def test_non_smtpd_milters_reject_returns_the_mail_to_its_sender(make_instance, milters):
    inst, m = non_smtpd_instance(make_instance, milters, "reject_eom")
    res = inst.sendmail("alice@mx.test", input=b"Subject: refused\n\nbody\n")
    assert res.returncode == 0, res.stderr
    lines = log_has(inst, r"kurir/cleanup\[\d+\]: \w+: milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: "
                          r"550 5\.7\.1 Command rejected; from=<[^>]+> to=<alice@mx\.test>")
    assert wait_for(lambda: re.search(r"kurir/pickup\[\d+\]: \w+: sender non-delivery notification", inst.log()), 30,
                    "the notice")
    inst.wait_queue_empty()
    assert inst.maildir_files("alice") == []


def test_non_smtpd_milters_do_not_see_smtpd_mail(make_instance, milters):
    inst, m = non_smtpd_instance(make_instance, milters, "reject_eom")
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    delivered(inst, "alice")
    assert m.stages() == []


def bdat(s, chunks):
    """BDAT chunks on an open session; the last reply."""
    for i, chunk in enumerate(chunks):
        last = " LAST" if i == len(chunks) - 1 else ""
        s.send(f"BDAT {len(chunk)}{last}\r\n".encode() + chunk)
        reply = s.getreply()
    return reply


@pytest.mark.parametrize("behaviour,code", [("reject_data", 550), ("reject_eom", 550), ("add_header", 250)])
def test_bdat_takes_the_milters_as_data_does(make_instance, milters, behaviour, code):
    inst, m = milter_instance(make_instance, milters, behaviour)
    with session(inst) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        assert s.rcpt("alice@mx.test")[0] == 250
        first = MSG.encode()[:40]
        s.send(f"BDAT {len(first)}\r\n".encode() + first)
        got = s.getreply()
        if behaviour == "reject_data":
            assert got == (550, b"5.7.1 Command rejected")
            assert s.noop()[0] == 250  # the chunk's bytes were read and dropped
            return
        assert got[0] == 250
        assert bdat(s, [MSG.encode()[40:]])[0] == code
    if code == 250:
        assert delivered(inst, "alice")["X-Milter-Added"] == "yes"
    else:
        assert not inst.queue_files()


def test_a_message_of_bdat_0_last_alone_on_a_kept_cleanup_connection_is_answered(make_instance, milters):
    """Found by review: smtpd holds the envelope back until the content's
    first bytes, and a message whose only chunk is BDAT 0 LAST has none; on
    a kept cleanup connection (whose hello comes with the first bytes) the
    milters' end-of-message stage waited for a hello that never came, until
    cleanup gave the connection up (max_idle)."""
    inst, m = milter_instance(make_instance, milters, "add_header", ipc_idle="300s", max_idle="300s")
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)  # smtpd keeps its cleanup connection
    delivered(inst, "alice")
    with session(inst) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        assert s.rcpt("alice@mx.test")[0] == 250
        s.sock.settimeout(30)
        assert bdat(s, [b""])[0] == 250
    assert delivered(inst, "alice", 2)["X-Milter-Added"] == "yes"


GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


@pytest.fixture
def rspamd(tmp_path):
    """rspamd's proxy worker as a milter on loopback, offline: Debian's
    /etc/rspamd with local.d, databases, pid and log in tmp_path (no Redis,
    no DNS: a resolver address where nothing answers)."""
    if not os.path.exists("/usr/bin/rspamd"):
        pytest.skip("rspamd is not installed")
    port = free_port()
    local = tmp_path / "local.d"
    local.mkdir()
    (local / "worker-proxy.inc").write_text(
        f'bind_socket = "127.0.0.1:{port}";\nmilter = yes;\ntimeout = 120s;\ncount = 1;\n'
        'upstream "local" { default = yes; self_scan = yes; }\n')
    for worker in ("normal", "controller", "fuzzy"):
        (local / f"worker-{worker}.inc").write_text("enabled = false;\n")
    (local / "logging.inc").write_text('type = "console";\nlevel = "error";\n')
    (local / "options.inc").write_text(f'dns {{ nameserver = ["127.0.0.1:{free_port()}"]; timeout = 1s; retransmits = 1; }}\n')
    (local / "milter_headers.conf").write_text("extended_spam_headers = true;\nskip_local = false;\n"
                                               "skip_authenticated = false;\nuse = [\"x-spam-status\"];\n")
    for d in ("db", "run"):
        (tmp_path / d).mkdir()
    os.chmod(tmp_path, 0o755)
    proc = subprocess.Popen(["/usr/bin/rspamd", "-f", "-i", "-c", "/etc/rspamd/rspamd.conf",
                             f"--var=LOCAL_CONFDIR={tmp_path}", f"--var=DBDIR={tmp_path}/db",
                             f"--var=RUNDIR={tmp_path}/run", f"--var=LOGDIR={tmp_path}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def listening():
        assert proc.poll() is None, "rspamd exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    try:
        wait_for(listening, 120, "rspamd's milter port")
        yield f"inet:127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # its own process group: rspamd and the workers it forked
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_rspamd_adds_its_headers_and_rejects_gtube(make_instance, rspamd):
    inst = make_instance()
    inst.set(smtpd_milters=rspamd)
    inst.start()
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
        assert s.mail("s@client.test")[0] == 250
        assert s.rcpt("alice@mx.test")[0] == 250
        code, text = s.data("From: s@client.test\r\nTo: alice@mx.test\r\nSubject: test\r\n\r\n" + GTUBE + "\r\n")
        assert code == 554, (code, text)
    msg = delivered(inst, "alice")
    assert msg["X-Spam-Status"].startswith("No, score="), msg.keys()
    assert msg["X-Spamd-Result"] is not None, msg.keys()
    log_has(inst, r"milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 554 ")
    assert len(inst.maildir_files("alice")) == 1


def test_rset_after_mail_aborts_the_milters_transaction(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "pass")
    with session(inst) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        assert s.rset()[0] == 250
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    delivered(inst, "alice")
    stages = m.stages()
    assert stages.index("abort") < stages.index("eom"), stages
    assert stages.count("mail") == 2


@pytest.mark.parametrize("where", ["smtpd_milters", "non_smtpd_milters"])
def test_cleanup_signs_dkim_after_the_milters_edits(make_instance, milters, where):
    """cleanup's own DKIM signature covers the message as the milters left
    it (changed Subject, replaced body, deleted header): it verifies."""
    import dkim
    inst = make_instance()
    key, txt = inst.dkim_key("rsa", "client.test", "m1")
    m = milters("edits", inst.tmp)
    inst.set(**{where: m.spec()}, dkim_sign_domains="client.test", dkim_private_key=f"m1:{key}")
    inst.start()
    if where == "smtpd_milters":
        with session(inst) as s:
            s.ehlo("client.test")
            s.sendmail("s@client.test", ["alice@mx.test", "bob@mx.test"], MSG)
    else:
        res = inst.sendmail("alice@mx.test", "bob@mx.test",
                            input=b"From: s@client.test\nSubject: hello\nX-Remove-Me: please\n\nthe body\n")
        assert res.returncode == 0, res.stderr
    files = inst.wait_delivered("carol", 1)
    raw = open(files[-1], "rb").read()
    msg = email.message_from_bytes(raw)
    assert msg["Subject"] == "changed subject"
    assert msg.get_payload() == "the milter's body\nsecond line\n"
    assert len(re.findall(rb"^DKIM-Signature:", raw, re.M)) == 1
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: txt)
    log_has(inst, r"DKIM-Signature field added \(s=m1, d=client.test, a=rsa-sha256\)")


def test_discard_at_rcpt_accepts_and_delivers_nothing(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "discard_rcpt")
    with session(inst) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        assert s.rcpt("alice@mx.test")[0] == 250
        code, text = s.data(MSG.encode())
        assert code == 250, text
    log_has(inst, r"milter-discard: RCPT from \S+: milter triggers DISCARD action")
    log_has(inst, r"discard: ")
    inst.wait_queue_empty()
    assert not inst.maildir_files("alice")


@pytest.mark.parametrize("where", ["smtpd", "non_smtpd"])
def test_each_milter_is_shown_the_message_as_the_milters_before_it_left_it(make_instance, milters, where):
    """As Postfix shows each milter the queue file so far: the second milter
    sees the first one's added header, changed Subject, deleted field and
    replaced body (a milter that signs after one that tags the Subject signs
    what is delivered)."""
    inst = make_instance()
    first, second = milters("edits", inst.tmp), milters("pass", inst.tmp)
    inst.set(**{f"{where}_milters": f"{first.spec()}, {second.spec()}"})
    inst.start()
    if where == "smtpd":
        with session(inst) as s:
            s.sendmail("s@client.test", ["alice@mx.test", "bob@mx.test"], MSG)
    else:
        res = inst.sendmail("alice@mx.test", "bob@mx.test",
                            input=b"From: s@client.test\nSubject: hello\nX-Remove-Me: please\n\nthe body\n")
        assert res.returncode == 0, res.stderr
    assert_every_edit_applied(inst)
    seen = {e["name"]: e["value"] for e in second.events() if e["stage"] == "header"}
    assert seen["X-Milter-Added"] == "yes" and seen["Subject"] == "changed subject", seen
    assert "X-Remove-Me" not in seen and "Received" not in seen, seen
    body = "".join(e["text"] for e in second.events() if e["stage"] == "body")
    assert body == "the milter's body\r\nsecond line\r\n"


def test_a_failing_milter_keeps_the_edits_of_the_milters_before_it(make_instance, milters):
    inst = make_instance()
    first = milters("edits", inst.tmp)
    second = milters("die_eom", inst.tmp)
    inst.set(smtpd_milters=f"{first.spec()}, {second.spec()}", milter_default_action="accept")
    inst.start()
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test", "bob@mx.test"], MSG)
    assert_every_edit_applied(inst)


def test_cleanup_refusal_while_the_milters_work_is_the_reply(make_instance, milters):
    """body_checks REJECT reaches smtpd while the end-of-message milter is
    still busy: the client gets that 550, not a 451."""
    inst = make_instance()
    m = milters("slow_eom", inst.tmp)
    checks = os.path.join(inst.dir, "body_checks")
    with open(checks, "w") as f:
        f.write("/^the body$/ REJECT no such bodies\n")
    inst.set(smtpd_milters=m.spec(), body_checks=f"regexp:{checks}")
    inst.start()
    with session(inst) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        assert s.rcpt("alice@mx.test")[0] == 250
        code, text = s.data(MSG.encode())
        assert (code, text) == (550, b"5.7.1 no such bodies")


def test_a_replaced_body_has_no_stray_cr_or_nul(make_instance, milters):
    inst, m = milter_instance(make_instance, milters, "crlf_body")
    with session(inst) as s:
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    [path] = inst.wait_delivered("alice", 1)
    raw = open(path, "rb").read()
    body = raw.split(b"\n\n", 1)[1]
    assert body == b"a . MAIL FROM:<x@evil.test>\nend\n"

