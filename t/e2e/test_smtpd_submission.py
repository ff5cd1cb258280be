"""TLS, AUTH and the restriction lists together, as a Postfix site runs
its submission service: AUTH is offered only after STARTTLS, a logged-in
user may relay and a stranger may not, the sender must be the user's own
(smtpd_sender_login_maps), and Received says ESMTPSA. Real clients: Python
smtplib (starttls, login) and swaks (--tls --auth); the next hop is a real
SMTP server (aiosmtpd)."""
import email
import os
import re
import smtplib
import subprocess

from instance import wait_for
from peers import SmtpReceiver, client_context, install_credentials


def submission_instance(make_instance, relay_port, **extra):
    # 127.0.0.1 is no trusted network here: only a login may relay.
    inst = make_instance(mynetworks="192.0.2.0/24", relayhost=f"[127.0.0.1]:{relay_port}")
    cert, key = install_credentials(inst)
    logins = inst.build_map("sender_logins", "alice@corp.test alice\n@shared.test alice, bob\n")
    inst.set(smtpd_tls_cert_file=cert, smtpd_tls_key_file=key, smtpd_tls_security_level="may",
             smtpd_tls_received_header="yes", smtpd_sasl_auth_enable="yes", smtpd_sender_login_maps=logins,
             smtpd_sender_restrictions="reject_sender_login_mismatch", **extra)
    for user, password in (("alice", "alice pass"), ("bob", "bob pass")):
        inst.kurir_passwd(user, password)
    return inst.start()


def test_login_after_starttls_relays_and_strangers_do_not(make_instance):
    with SmtpReceiver() as mx:
        inst = submission_instance(make_instance, mx.port)
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
            s.ehlo("client.test")
            assert "auth" not in s.esmtp_features  # smtpd_tls_auth_only: not before TLS
            # A stranger without a login may not relay.
            s.mail("someone@client.test")
            code, text = s.rcpt("friend@far.example")
            assert (code, text) == (554, b"5.7.1 <friend@far.example>: Relay access denied")
            s.rset()
            s.starttls(context=client_context())
            s.ehlo("client.test")
            assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
            s.login("alice", "alice pass")
            # Logged in as alice: alice's own addresses may relay ...
            s.sendmail("alice@corp.test", ["friend@far.example"], b"Subject: from alice\r\n\r\nhello\r\n")
            # ... someone else's may not.
            s.mail("boss@corp.test")
            code, text = s.rcpt("friend@far.example")
            assert (code, text) == (553, b"5.7.1 <boss@corp.test>: Sender address rejected: not owned by user alice")
        got = mx.wait_messages(1)[0]
        assert got.rcpt_tos == ["friend@far.example"]
        msg = email.message_from_bytes(got.data)
        rcvd = msg.get_all("Received")[-1]
        assert " with ESMTPSA id " in rcvd and "(using TLSv1." in rcvd, rcvd
    log = inst.log()
    # smtplib's login() picks CRAM-MD5, then PLAIN, then LOGIN: PLAIN here.
    assert "client=localhost[127.0.0.1], sasl_method=PLAIN, sasl_username=alice" in log
    assert "Relay access denied; from=<someone@client.test> to=<friend@far.example> proto=ESMTP" in log
    assert "not owned by user alice; from=<boss@corp.test> to=<friend@far.example> proto=ESMTPSA" in log


def test_an_owned_sender_needs_its_login_and_swaks_submits(make_instance):
    with SmtpReceiver() as mx:
        inst = submission_instance(make_instance, mx.port)
        # @shared.test belongs to alice and bob: a client that is not logged in
        # may not use it even for local mail.
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
            s.ehlo("client.test")
            s.mail("team@shared.test")
            code, text = s.rcpt("rcpt@mx.test")
            assert (code, text) == (553, b"5.7.1 <team@shared.test>: Sender address rejected: not logged in")
        res = subprocess.run(["swaks", "--server", f"127.0.0.1:{inst.port}", "--tls", "--auth", "PLAIN",
                              "--auth-user", "bob", "--auth-password", "bob pass", "--from", "team@shared.test",
                              "--to", "friend@far.example", "--helo", "client.test", "--timeout", "30"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=90)
        assert res.returncode == 0, res.stdout
        assert "235 2.7.0 Authentication successful" in res.stdout
        got = mx.wait_messages(1)[0]
        assert got.mail_from == "team@shared.test" and got.rcpt_tos == ["friend@far.example"]


def test_an_auth_before_starttls_is_forgotten_after_it(make_instance):
    # With AUTH allowed in plaintext, a login made before STARTTLS does not
    # survive it (RFC 3207: the session starts over).
    with SmtpReceiver() as mx:
        inst = submission_instance(make_instance, mx.port, smtpd_tls_auth_only="no")
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
            s.ehlo("client.test")
            s.login("alice", "alice pass")
            s.starttls(context=client_context())
            s.ehlo("client.test")
            s.mail("alice@corp.test")
            code, text = s.rcpt("friend@far.example")
            assert code == 553 and b"not logged in" in text, text


def pflogsumm_counts(log):
    """Debian's pflogsumm on a kurir log: its Grand Totals ("3   received",
    "1   rejected (33%)") as {first word: count}, and its whole output."""
    res = subprocess.run(["pflogsumm", "--syslog-name=kurir", "--smtpd-stats", "-u", "5", "-h", "5", log],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    counts = {}
    for line in res.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0].isdigit():
            counts.setdefault(parts[1].split()[0], int(parts[0]))
    return counts, res.stdout


def relay_refused_then_submitted(inst, rcpts):
    """A stranger refused relaying (554), then alice over STARTTLS and AUTH
    sending one message to each of rcpts: the session the pflogsumm tests
    read back."""
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        s.mail("someone@client.test")
        assert s.rcpt("friend@far.example")[0] == 554
        s.rset()
        s.starttls(context=client_context())
        s.ehlo("client.test")
        s.login("alice", "alice pass")
        for n, rcpt in enumerate(rcpts):
            s.sendmail("alice@corp.test", [rcpt], f"Subject: {n} to {rcpt}\r\n\r\nbody\r\n".encode())


def test_pflogsumm_reads_the_log_of_a_submission_session(make_instance):
    # pflogsumm (Debian's) counts what the log says was received, delivered
    # and rejected, and which SASL users sent: kurir's lines in Postfix's words.
    with SmtpReceiver() as mx:
        inst = submission_instance(make_instance, mx.port)
        relay_refused_then_submitted(inst, ["friend@far.example"] * 2)
        mx.wait_messages(2)
        inst.wait_queue_empty()
    log = os.path.join(inst.dir, "log", "maillog")
    counts, out = pflogsumm_counts(log)
    assert counts.get("received") == 2, out
    assert counts.get("delivered") == 2, out
    assert counts.get("rejected") == 1, out


def test_pflogsumm_counts_deferred_and_bounced_too(make_instance):
    # The next hop answers one recipient 450 and one 550: kurir's log then
    # says deferred and bounced in Postfix's words, and pflogsumm counts them
    # with what was received, delivered and rejected.
    rcpt_reply = {"later@far.example": "450 4.2.0 try again later", "gone@far.example": "550 5.1.1 no such user"}
    with SmtpReceiver(rcpt_reply=rcpt_reply) as mx:
        inst = submission_instance(make_instance, mx.port)
        relay_refused_then_submitted(inst, ["friend@far.example", "later@far.example", "gone@far.example"])
        mx.wait_messages(2)  # friend's message, and the bounce notice for gone@ to alice
        wait_for(lambda: "status=deferred" in inst.log() and "status=bounced" in inst.log(), 60,
                 "the deferral and the bounce in the log")
        wait_for(lambda: inst.log().count("status=sent") == 2, 60, "both deliveries in the log")
    log = os.path.join(inst.dir, "log", "maillog")
    counts, out = pflogsumm_counts(log)
    assert counts.get("received") == 3, out
    # friend's message and the bounce notice to alice (which pflogsumm, as
    # for Postfix's bounce daemon, does not count as received)
    assert counts.get("delivered") == 2, out
    assert counts.get("deferred") == 1, out
    assert counts.get("bounced") == 1, out
    assert counts.get("rejected") == 1, out


def fail2ban_matches(log, mode):
    """How many lines of log Debian's postfix filter matches in mode, with
    the daemon name kurir's log carries (INTERFACE.md)."""
    filt = f"/etc/fail2ban/filter.d/postfix.conf[mode={mode}, _daemon=kurir(?:-\\w+)?/\\w+]"
    res = subprocess.run(["fail2ban-regex", "--print-no-missed", log, filt], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=120)
    assert res.returncode == 0, res.stdout
    m = re.search(r"^Lines: \d+ lines, \d+ ignored, (\d+) matched", res.stdout, re.M)
    assert m, res.stdout
    return int(m.group(1)), res.stdout


def test_fail2ban_postfix_filter_matches_failed_logins_and_refused_relaying(make_instance):
    with SmtpReceiver() as mx:
        inst = submission_instance(make_instance, mx.port, local_recipient_maps="unix:passwd.byname")
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
            s.ehlo("client.test")
            s.mail("someone@client.test")
            assert s.rcpt("friend@far.example")[0] == 554
            assert s.rcpt("nobody-here@mx.test")[0] == 550
            s.rset()
            s.starttls(context=client_context())
            s.ehlo("client.test")
            # One mechanism per attempt (login() would try PLAIN, then LOGIN).
            for password in ("wrong", "also wrong"):
                s.user, s.password = "alice", password
                try:
                    s.auth("PLAIN", s.auth_plain)
                    raise AssertionError("a wrong password was taken")
                except smtplib.SMTPAuthenticationError as e:
                    assert e.smtp_code == 535
            s.user, s.password = "alice", "alice pass"
            assert s.auth("PLAIN", s.auth_plain)[0] == 235  # a success is no ban
    log = os.path.join(inst.dir, "log", "maillog")
    failed_logins, out = fail2ban_matches(log, "auth")
    assert failed_logins == 2, out
    refusals, out = fail2ban_matches(log, "normal")
    assert refusals == 2, out  # Relay access denied, User unknown in local recipient table
