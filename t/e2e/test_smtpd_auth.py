"""SMTP AUTH in smtpd: PLAIN and LOGIN from real clients (smtplib, swaks),
against kurir's own argon2id table (kurir-passwd) and against a real Dovecot
auth server that the test starts in its own directory; the error replies and
Postfix's log lines that fail2ban and pflogsumm read."""
import base64
import email
import os
import re
import smtplib
import subprocess

import pytest

from instance import PREFIX, wait_for
from peers import Dovecot, dovecot_usable
from smtp_raw import RawSMTP

PASSWD = os.path.join(PREFIX, "sbin", "kurir-passwd")
SASL = dict(smtpd_sasl_auth_enable="yes", smtpd_tls_auth_only="no", local_recipient_maps="")


def b64(data):
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def sasl_instance(make_instance, **params):
    inst = make_instance(**{**SASL, **params})
    inst.kurir_passwd("alice", "s3cret pass")
    return inst.start()


def received(inst, user="rcpt", count=1):
    path = inst.wait_delivered(user, count)[count - 1]
    with open(path, "rb") as f:
        return email.message_from_bytes(f.read())


def test_auth_offered_only_under_tls_by_default(make_instance):
    inst = make_instance(smtpd_sasl_auth_enable="yes")
    inst.kurir_passwd("alice", "s3cret pass")
    inst.start()
    with RawSMTP(inst.port) as c:
        c.reply()
        code, text = c.cmd("EHLO client.test")
        assert code == 250 and "AUTH" not in text
        assert c.cmd("AUTH PLAIN " + b64("\0alice\0s3cret pass")) == \
            (538, "538 5.7.11 Encryption required for requested authentication mechanism")


def test_auth_not_enabled_by_default(instance):
    with RawSMTP(instance.port) as c:
        c.reply()
        assert "AUTH" not in c.cmd("EHLO client.test")[1]
        assert c.cmd("AUTH PLAIN") == (503, "503 5.5.1 Error: authentication not enabled")


def test_smtplib_plain_and_login_with_kurir_table(make_instance):
    inst = sasl_instance(make_instance)
    with inst.smtp() as s:
        s.ehlo("client.test")
        assert s.has_extn("auth") and s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        s.user, s.password = "alice", "s3cret pass"
        assert s.auth("PLAIN", s.auth_plain) == (235, b"2.7.0 Authentication successful")
        s.sendmail("alice@client.test", ["rcpt@mx.test"], b"Subject: one\r\n\r\nbody\r\n")
    with inst.smtp() as s:
        s.ehlo("client.test")
        s.user, s.password = "alice", "s3cret pass"
        assert s.auth("LOGIN", s.auth_login) == (235, b"2.7.0 Authentication successful")
    msg = received(inst)
    rcvd = msg["Received"]
    assert " with ESMTPA id " in rcvd and "Authenticated sender" not in rcvd, rcvd
    log = inst.log()
    assert re.search(r"kurir/smtpd\[\d+\]: \w+: client=\S+\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=alice\n",
                     log), log
    wait_for(lambda: re.search(r"disconnect from \S+ ehlo=1 auth=1 quit=1 commands=3", inst.log()), 20,
             "the second session's disconnect line")


def test_authenticated_header_when_asked(make_instance):
    inst = sasl_instance(make_instance, smtpd_sasl_authenticated_header="yes")
    with inst.smtp() as s:
        s.login("alice", "s3cret pass")
        s.sendmail("alice@client.test", ["rcpt@mx.test"], b"Subject: one\r\n\r\nbody\r\n")
    rcvd = received(inst)["Received"]
    assert "(Authenticated sender: alice)" in rcvd and " with ESMTPA id " in rcvd, rcvd


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks(make_instance, mech):
    inst = sasl_instance(make_instance)
    res = subprocess.run(["swaks", "--server", f"127.0.0.1:{inst.port}", "--to", "rcpt@mx.test", "--from",
                          "alice@client.test", "--auth", mech, "--auth-user", "alice", "--auth-password",
                          "s3cret pass", "--helo", "client.test"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert res.returncode == 0, res.stdout
    assert "235 2.7.0 Authentication successful" in res.stdout
    inst.wait_delivered("rcpt", 1)
    assert f"sasl_method={mech}, sasl_username=alice" in inst.log()
    bad = subprocess.run(["swaks", "--server", f"127.0.0.1:{inst.port}", "--to", "rcpt@mx.test", "--auth", mech,
                          "--auth-user", "alice", "--auth-password", "wrong", "--helo", "client.test"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert bad.returncode != 0 and "535 5.7.8 Error: authentication failed" in bad.stdout, bad.stdout


def test_error_paths_and_the_failure_log_line(make_instance):
    inst = sasl_instance(make_instance)
    with RawSMTP(inst.port) as c:
        c.reply()
        assert c.cmd("AUTH PLAIN") == (503, "503 5.5.1 Error: send HELO/EHLO first")
        c.cmd("EHLO client.test")
        assert c.cmd("AUTH PLAIN %%%%") == (501, "501 5.5.2 Cannot decode response")
        assert c.cmd("AUTH LOGIN") == (334, "334 VXNlcm5hbWU6")
        assert c.cmd("not base64!") == (501, "501 5.5.2 Cannot decode response")
        assert c.cmd("AUTH LOGIN") == (334, "334 VXNlcm5hbWU6")
        assert c.cmd("*") == (501, "501 5.7.0 Authentication aborted")
        assert c.cmd("AUTH DIGEST-MD5") == (504, "504 5.5.4 Unsupported authentication mechanism")
        assert c.cmd("AUTH PLAIN " + b64("\0alice\0wrong")) == \
            (535, "535 5.7.8 Error: authentication failed: authentication failure")
        assert c.cmd("AUTH PLAIN " + b64("\0nobody\0wrong"))[0] == 535
        assert c.cmd("MAIL FROM:<a@client.test>")[0] == 250
        assert c.cmd("AUTH PLAIN") == (503, "503 5.5.1 Error: MAIL transaction in progress")
        assert c.cmd("RSET")[0] == 250
        assert c.cmd("AUTH PLAIN " + b64("\0alice\0s3cret pass"))[0] == 235
        assert c.cmd("AUTH PLAIN") == (503, "503 5.5.1 Error: already authenticated")
    log = inst.log()
    # fail2ban's postfix[mode=auth] and postfix-sasl filters match this line.
    assert re.search(r"kurir/smtpd\[\d+\]: warning: \S+\[127\.0\.0\.1\]: "
                     r"SASL PLAIN authentication failed: authentication failure\n", log), log


def test_failed_auth_meets_the_hard_error_limit(make_instance):
    inst = sasl_instance(make_instance, smtpd_hard_error_limit="3")
    with RawSMTP(inst.port) as c:
        c.reply()
        c.cmd("EHLO client.test")
        for _ in range(2):
            assert c.cmd("AUTH PLAIN " + b64("\0alice\0guess"))[0] == 535
        assert c.cmd("AUTH PLAIN " + b64("\0alice\0guess"))[0] == 535
        assert c.reply()[0] == 421
    wait_for(lambda: "too many errors after command" in inst.log(), 20, "the log line")


def test_kurir_passwd_round_trip(make_instance):
    inst = sasl_instance(make_instance)
    table = os.path.join(inst.dir, "sasl_passwd")
    text = open(table).read()
    assert re.fullmatch(r"alice \$argon2id\$v=19\$m=65536,t=2,p=1\$\S+\n", text), text
    assert "s3cret" not in text
    assert os.stat(table + ".db").st_mode & 0o777 == 0o640
    # Added while smtpd runs: the rebuilt table is reopened (in root mode by
    # the unprivileged smtpd).
    inst.kurir_passwd("bob", "first")
    with inst.smtp() as s:
        s.login("bob", "first")
    inst.kurir_passwd("bob", "second")
    with inst.smtp() as s:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login("bob", "first")
    with inst.smtp() as s:
        s.login("bob", "second")
    inst.kurir_passwd("bob", "", "-d")
    with inst.smtp() as s:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login("bob", "second")
    assert open(table).read() == text
    printed = subprocess.run([PASSWD, "-p", "carol"], input="pw\n", stdout=subprocess.PIPE, text=True, check=True)
    assert re.fullmatch(r"carol \$argon2id\$\S+\n", printed.stdout)


# -- a real Dovecot -------------------------------------------------------------

@pytest.fixture
def dovecot(make_instance):
    """An instance with smtpd_sasl_type = dovecot and a Dovecot of the test's
    own (never the system's) listening on queue/private/auth, reachable only
    by the instance's mail_owner (or, in user mode, its user)."""
    if not dovecot_usable():
        pytest.skip("Dovecot needs root and Debian's dovecot-core")
    inst = make_instance(**SASL, smtpd_sasl_type="dovecot", smtpd_sasl_path="private/auth")
    owner = inst.account.pw_name if inst.account else "kurir"
    socket_path = os.path.join(inst.dir, "queue", "private", "auth")
    with Dovecot({"dave": "d0ve pass"}, auth_socket=(socket_path, owner)):
        inst.start()
        yield inst


def test_dovecot_plain_login_and_failure(dovecot):
    inst = dovecot
    with inst.smtp() as s:
        s.ehlo("client.test")
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        s.user, s.password = "dave", "d0ve pass"
        assert s.auth("PLAIN", s.auth_plain)[0] == 235
        s.sendmail("dave@client.test", ["rcpt@mx.test"], b"Subject: d\r\n\r\nbody\r\n")
    with inst.smtp() as s:
        s.ehlo("client.test")
        s.user, s.password = "dave", "d0ve pass"
        assert s.auth("LOGIN", s.auth_login)[0] == 235
    with RawSMTP(inst.port) as c:
        c.reply()
        c.cmd("EHLO client.test")
        assert c.cmd("AUTH PLAIN")[0] == 334  # Dovecot's empty challenge
        assert c.cmd(b64("\0dave\0wrong"))[0] == 535
        assert c.cmd("AUTH LOGIN " + b64("dave")) == (334, "334 UGFzc3dvcmQ6")
        assert c.cmd(b64("d0ve pass"))[0] == 235
    rcvd = received(inst)["Received"]
    assert " with ESMTPA id " in rcvd
    log = inst.log()
    assert re.search(r"client=\S+\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=dave\n", log), log
    assert re.search(r"warning: \S+\[127\.0\.0\.1\]: SASL PLAIN authentication failed: ", log), log


def test_dovecot_gone_is_a_temporary_failure(dovecot):
    inst = dovecot
    os.unlink(os.path.join(inst.dir, "queue", "private", "auth"))
    with RawSMTP(inst.port) as c:
        c.reply()
        c.cmd("EHLO client.test")
        code, text = c.cmd("AUTH PLAIN " + b64("\0dave\0d0ve pass"))
        assert code == 454 and text.startswith("454 4.7.0 Temporary authentication failure"), text
        assert c.cmd("NOOP")[0] == 250


def test_authenticated_header_as_a_service_override(make_instance):
    # A master.cf -o on one smtpd service (a submission port) decides, as in
    # Postfix, where smtpd writes that part of Received:.
    from instance import free_port
    inst = make_instance(**SASL)
    inst.kurir_passwd("alice", "s3cret pass")
    port = free_port()
    inst.add_service(f"127.0.0.1:{port} inet n - n - - smtpd\n  -o smtpd_sasl_authenticated_header=yes")
    inst.start()
    for p in (inst.port, port):
        with smtplib.SMTP("127.0.0.1", p, timeout=30) as s:
            s.login("alice", "s3cret pass")
            s.sendmail("alice@client.test", ["rcpt@mx.test"], f"Subject: via {p}\r\n\r\nbody\r\n".encode())
    inst.wait_delivered("rcpt", 2)
    by_port = {}
    for path in inst.maildir_files("rcpt"):
        with open(path, "rb") as f:
            msg = email.message_from_bytes(f.read())
        by_port[msg["Subject"]] = msg["Received"]
    assert "Authenticated sender" not in by_port[f"via {inst.port}"]
    assert "(Authenticated sender: alice)" in by_port[f"via {port}"]
