"""smtpd's TLS end to end: STARTTLS and wrapper mode with real clients
(smtplib, openssl s_client, swaks, Postfix's smtp client), the plaintext
injection of CVE-2011-0411, smtpd_tls_security_level = encrypt, the
Received: header, certificates renewed on disk and taken on by `kurir
reload`, a broken key (at start: a clear failure; at reload: the old
certificate stays), and garbage instead of a ClientHello.

In root mode the key file is root's, mode 0600: master reads it before any
process drops privileges and hands the bytes to smtpd."""
import os
import re
import smtplib
import socket
import ssl
import subprocess

import pytest

from instance import free_port, wait_for
from peers import MX_NAMES, PostfixInstance, client_context, install_credentials, postfix_usable, tls_files
from smtp_raw import never_read

MSG = b"Subject: over TLS\r\nFrom: s@client.test\r\n\r\nsecret body\r\n"
RENEWED_NAMES = ("mx.test", "renewed.mx.test", "127.0.0.1")


def tls_instance(make_instance, files=None, **params):
    inst = make_instance()
    cert, key = install_credentials(inst, files or tls_files(MX_NAMES))
    settings = dict(smtpd_tls_cert_file=cert, smtpd_tls_key_file=key, smtpd_tls_security_level="may",
                    smtpd_tls_loglevel="1")
    settings.update(params)
    inst.set(**settings)
    return inst


def der_of(pem_file):
    with open(pem_file) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def served_certificate(port, starttls=True):
    """The DER certificate a new session is served."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if starttls:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.starttls(context=ctx)
            return s.sock.getpeercert(binary_form=True)
    with smtplib.SMTP_SSL("127.0.0.1", port, timeout=30, context=ctx) as s:
        return s.sock.getpeercert(binary_form=True)


def assert_closed(sock):
    """The server ends the session: EOF, or a reset (it closed with our
    bytes unread)."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise AssertionError(f"connection closed after {lines!r}")
        lines.append(line.decode())
        if line[3:4] != b"-":
            return "".join(lines)


def test_starttls_with_smtplib_delivers_and_says_so(make_instance):
    inst = tls_instance(make_instance, smtpd_tls_received_header="yes")
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.has_extn("starttls")
        s.starttls(context=client_context())
        s.ehlo("client.test")
        assert not s.has_extn("starttls")  # not offered twice
        assert s.sock.version() == "TLSv1.3"
        s.sendmail("s@client.test", ["amy@mx.test"], MSG)
    got = open(inst.wait_delivered("amy", 1)[0], "rb").read()
    assert b"secret body" in got
    assert re.search(rb"Received: from client\.test \(localhost \[127\.0\.0\.1\]\)\n"
                     rb"\t\(using TLSv1\.3 with cipher TLS_[A-Z0-9_]+ \(\d+/\d+ bits\)\)\n"
                     rb"\tby mx\.test \(kurir\) with ESMTPS id ", got), got
    assert re.search(r"smtpd\[\d+\]: Anonymous TLS connection established from localhost\[127\.0\.0\.1\]: "
                     r"TLSv1\.3 with cipher TLS_\w+ \(\d+/\d+ bits\)", inst.log()), inst.log()


def test_only_processes_with_tls_load_openssl(make_instance):
    """libssl and libcrypto cost every process that maps them about 0.5 MB
    of relocated data: master and smtpd load them only for a service with
    TLS credentials (smtpd before privileges go and a chroot)."""
    plain = make_instance().start()
    with smtplib.SMTP("127.0.0.1", plain.port, timeout=30) as s:
        s.ehlo("client.test")
        assert not s.has_extn("starttls")
        # (master may have a child between its fork and exec: all, not one)
        for name in ("smtpd", "master"):
            maps = plain.maps(name, "libssl")
            assert maps and not any(maps), name
    inst = tls_instance(make_instance)
    if inst.mode == "root":
        inst.chroot("smtpd")
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.starttls(context=client_context())
        s.sendmail("s@client.test", ["amy@mx.test"], MSG)
        for name in ("smtpd", "master"):
            maps = inst.maps(name, "libssl")
            assert maps and all(maps), name
    assert b"secret body" in open(inst.wait_delivered("amy", 1)[0], "rb").read()


def test_without_the_received_header_setting_only_the_protocol_says_tls(make_instance):
    inst = tls_instance(make_instance)
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.starttls(context=client_context())
        s.sendmail("s@client.test", ["amy@mx.test"], MSG)
    got = open(inst.wait_delivered("amy", 1)[0], "rb").read()
    assert b"with ESMTPS id" in got and b"(using " not in got, got
    # Plaintext mail is still ESMTP.
    inst.send("s@client.test", ["bob@mx.test"], MSG)
    got = open(inst.wait_delivered("bob", 1)[0], "rb").read()
    assert b"with ESMTP id" in got, got


def test_openssl_s_client_gets_tls_1_2_and_1_3_but_not_1_1(make_instance):
    inst = tls_instance(make_instance)
    inst.start()

    def s_client(*args):
        return subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{inst.port}",
                               "-CAfile", tls_files(MX_NAMES).ca_file, "-verify_return_error", "-brief", *args],
                              input=b"QUIT\r\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)

    r = s_client()
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out
    assert "Protocol version: TLSv1.3" in out and "Verification: OK" in out, out
    r = s_client("-tls1_2")
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0 and "Protocol version: TLSv1.2" in out, out
    assert re.search(r"Ciphersuite: ECDHE-(RSA|ECDSA)-(AES\d+-GCM|CHACHA20-POLY1305)", out), out
    # TLS 1.1 is refused by default (the client is told to allow it).
    r = s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    out = r.stdout.decode(errors="replace")
    assert r.returncode != 0 and "Protocol version: TLSv1.1" not in out, out
    wait_for(lambda: "SSL_accept error from localhost[127.0.0.1]" in inst.log(), 20, "the failed handshake logged")


def test_plaintext_sent_behind_starttls_is_discarded(make_instance):
    """CVE-2011-0411: a MAIL command injected in the same write as STARTTLS
    must not be executed as if it came over TLS."""
    inst = tls_instance(make_instance)
    inst.start()
    raw = socket.create_connection(("127.0.0.1", inst.port), timeout=30)
    f = raw.makefile("rb")
    assert read_reply(f).startswith("220 ")
    raw.sendall(b"EHLO client.test\r\n")
    assert "250-STARTTLS" in read_reply(f)
    raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n")
    assert read_reply(f).startswith("220 2.0.0 Ready to start TLS")
    tls = client_context().wrap_socket(raw, server_hostname="mx.test")
    tf = tls.makefile("rb")
    tls.sendall(b"EHLO client.test\r\n")
    assert read_reply(tf).startswith("250-mx.test")
    # Had the injected MAIL been taken, this would be 250.
    tls.sendall(b"RCPT TO:<amy@mx.test>\r\n")
    assert read_reply(tf).startswith("503 5.5.1 Error: need MAIL command")
    tls.sendall(b"QUIT\r\n")
    assert read_reply(tf).startswith("221 ")
    tls.close()
    assert "injected@evil.test" not in inst.log()
    wait_for(lambda: re.search(r"discarding \d+ bytes of plaintext sent after STARTTLS by localhost\[127\.0\.0\.1\]",
                               inst.log()), 20, "the discarded bytes logged")


def test_encrypt_level_refuses_mail_before_starttls_and_helo_is_required_after(make_instance):
    inst = tls_instance(make_instance, smtpd_tls_security_level="encrypt", smtpd_helo_required="yes")
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        code, text = s.docmd("MAIL FROM:<s@client.test>")
        assert (code, text) == (530, b"5.7.0 Must issue a STARTTLS command first")
        code, text = s.docmd("RCPT TO:<amy@mx.test>")
        assert code == 530
        s.starttls(context=client_context())
        # The session starts over: no HELO yet, and smtpd_helo_required = yes.
        code, text = s.docmd("MAIL FROM:<s@client.test>")
        assert (code, text) == (503, b"5.5.1 Error: send HELO/EHLO first")
        s.ehlo("client.test")
        s.sendmail("s@client.test", ["amy@mx.test"], MSG)
    inst.wait_delivered("amy", 1)


def test_swaks_starttls_and_wrapper_mode(make_instance):
    inst = tls_instance(make_instance)
    smtps = free_port()
    inst.add_service(f"127.0.0.1:{smtps} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes")
    inst.start()
    for args in (["--tls", "--server", f"127.0.0.1:{inst.port}"], ["--tlsc", "--server", f"127.0.0.1:{smtps}"]):
        r = subprocess.run(["swaks", "--to", "amy@mx.test", "--from", "s@client.test", "--helo", "client.test",
                            "--timeout", "30", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = r.stdout.decode(errors="replace")
        assert r.returncode == 0, out
        assert "TLS started" in out and "250 2.0.0 Ok: queued as" in out, out
    inst.wait_delivered("amy", 2)
    # Python's implicit TLS client too, verifying the name.
    with smtplib.SMTP_SSL("127.0.0.1", smtps, timeout=30, context=client_context()) as s:
        s.ehlo("client.test")
        assert not s.has_extn("starttls")
        s.sendmail("s@client.test", ["bob@mx.test"], MSG)
    got = open(inst.wait_delivered("bob", 1)[0], "rb").read()
    assert b"with ESMTPS id" in got


def test_garbage_instead_of_a_client_hello_ends_that_session_only(make_instance):
    inst = tls_instance(make_instance)
    smtps = free_port()
    inst.add_service(f"127.0.0.1:{smtps} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes")
    inst.start()
    # A session in progress on each listener.
    plain = smtplib.SMTP("127.0.0.1", inst.port, timeout=30)
    plain.starttls(context=client_context())
    plain.ehlo("client.test")
    wrapped = smtplib.SMTP_SSL("127.0.0.1", smtps, timeout=30, context=client_context())
    wrapped.ehlo("client.test")
    junk = bytes(range(256)) * 64
    # Random bytes after STARTTLS ...
    raw = socket.create_connection(("127.0.0.1", inst.port), timeout=30)
    f = raw.makefile("rb")
    read_reply(f)
    raw.sendall(b"STARTTLS\r\n")
    assert read_reply(f).startswith("220 ")
    raw.sendall(junk)
    assert_closed(raw)
    raw.close()
    # ... and on the wrapper-mode port.
    raw = socket.create_connection(("127.0.0.1", smtps), timeout=30)
    try:
        raw.sendall(junk)
    except OSError:
        pass
    assert_closed(raw)
    raw.close()
    # The others go on, and new clients are served.
    plain.sendmail("s@client.test", ["amy@mx.test"], MSG)
    wrapped.sendmail("s@client.test", ["amy@mx.test"], MSG)
    plain.quit()
    wrapped.quit()
    with smtplib.SMTP_SSL("127.0.0.1", smtps, timeout=30, context=client_context()) as s:
        s.sendmail("s@client.test", ["amy@mx.test"], MSG)
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.starttls(context=client_context())
        s.sendmail("s@client.test", ["amy@mx.test"], MSG)
    inst.wait_delivered("amy", 4)
    assert len(re.findall(r"SSL_accept error from localhost\[127\.0\.0\.1\]", inst.log())) >= 2, inst.log()


def test_reload_takes_a_renewed_certificate_and_keeps_running_sessions(make_instance):
    inst = tls_instance(make_instance)
    inst.start()
    old, new = tls_files(MX_NAMES), tls_files(RENEWED_NAMES)
    assert served_certificate(inst.port) == der_of(old.cert_file)
    running = smtplib.SMTP("127.0.0.1", inst.port, timeout=30)
    running.starttls(context=client_context())
    running.ehlo("client.test")
    install_credentials(inst, new)  # renewed on disk, as certbot does
    inst.kurir("reload")
    wait_for(lambda: served_certificate(inst.port) == der_of(new.cert_file), 30, "the renewed certificate served")
    # The session that started before the reload is not dropped.
    running.sendmail("s@client.test", ["amy@mx.test"], MSG)
    running.quit()
    inst.wait_delivered("amy", 1)
    assert inst.kurir("status", check=False).returncode == 0


def test_reload_with_a_broken_key_keeps_the_old_certificate(make_instance):
    inst = tls_instance(make_instance)
    inst.start()
    old = tls_files(MX_NAMES)
    assert served_certificate(inst.port) == der_of(old.cert_file)
    cert, key = install_credentials(inst, tls_files(RENEWED_NAMES))
    with open(key, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
    inst.kurir("reload")
    wait_for(lambda: "new sessions keep the old certificate" in inst.log(), 30, "the reload error logged")
    assert re.search(r"warning: service 127\.0\.0\.1:%d: TLS: .*%s.*new sessions keep the old certificate"
                     % (inst.port, re.escape(cert)), inst.log()), inst.log()
    # Newly started smtpd processes (the old ones retire at reload) still
    # serve the old certificate, and mail flows.
    assert served_certificate(inst.port) == der_of(old.cert_file)
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.starttls(context=client_context())
        s.sendmail("s@client.test", ["amy@mx.test"], MSG)
    inst.wait_delivered("amy", 1)


@pytest.mark.parametrize("problem", ["missing", "unreadable"])
def test_start_with_a_bad_key_is_a_clear_failure(make_instance, problem):
    inst = tls_instance(make_instance)
    key = os.path.join(inst.tmp, "tls", "key.pem")
    if problem == "missing":
        os.unlink(key)
        want = f"{key}: No such file or directory"
    else:
        if inst.mode == "root":
            pytest.skip("root reads a mode 000 file")
        os.chmod(key, 0)
        want = f"{key}: Permission denied"
    res = inst.kurir("start", check=False)
    assert res.returncode != 0
    assert want in res.stderr and "TLS" in res.stderr, res.stderr
    assert inst.kurir("status", check=False).returncode != 0


@pytest.mark.skipif(not postfix_usable(), reason="a private Postfix needs root and Debian's postfix")
def test_postfix_relays_into_kurir_with_tls_encrypt(make_instance):
    inst = tls_instance(make_instance, smtpd_tls_received_header="yes")
    inst.set(mydestination="$myhostname, localhost, to-kurir.test")
    inst.start()
    with PostfixInstance(transport={"to-kurir.test": f"smtp:[127.0.0.1]:{inst.port}"}) as pf:
        with open(os.path.join(pf.conf, "main.cf"), "a") as f:
            f.write(f"smtp_tls_security_level = encrypt\nsmtp_tls_CAfile = {tls_files(MX_NAMES).ca_file}\n"
                    "smtp_tls_loglevel = 1\n")
        with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as s:
            s.sendmail("p@client.test", ["amy@to-kurir.test"], MSG)
        try:
            got = open(inst.wait_delivered("amy", 1)[0], "rb").read()
        finally:
            pf_log = pf.log()
            print(pf_log)
    assert b"with ESMTPS id" in got and b"(using TLSv1.3 with cipher" in got, got
    assert re.search(r"TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:%d: TLSv1\.3" % inst.port,
                     pf_log), pf_log
    assert re.search(r"to=<amy@to-kurir.test>, relay=127.0.0.1\[127.0.0.1\]:%d.*status=sent" % inst.port, pf_log)


def test_over_tls_a_client_that_never_reads_cannot_grow_smtpd_or_hold_it(make_instance):
    """The bounds hold over TLS: smtp_raw.never_read after STARTTLS (the
    unread replies are TLS records); the process serves the next client."""
    inst = tls_instance(make_instance, smtpd_timeout="2s")
    inst.start()
    raw = socket.create_connection(("127.0.0.1", inst.port), timeout=30)
    f = raw.makefile("rb")
    read_reply(f)
    raw.sendall(b"STARTTLS\r\n")
    assert read_reply(f).startswith("220 ")
    never_read(inst, client_context().wrap_socket(raw, server_hostname="mx.test"))
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.starttls(context=client_context())
        s.sendmail("s@client.test", ["alice@mx.test"], MSG)
    inst.wait_delivered("alice", 1)


def resumable_session(port, ctx, resume=None):
    """EHLO, STARTTLS, a handshake offering `resume`, EHLO again (which also
    takes in TLS 1.3's session ticket), QUIT. Returns (session, reused)."""
    def reply(f):
        text = read_reply(f)
        assert text[:1] in ("2", "3"), text
        return text

    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        f = raw.makefile("rb")
        reply(f)
        raw.sendall(b"EHLO client.test\r\n")
        reply(f)
        raw.sendall(b"STARTTLS\r\n")
        assert reply(f).startswith("220")
        with ctx.wrap_socket(raw, server_hostname="mx.test", session=resume) as tls:
            g = tls.makefile("rb")
            tls.sendall(b"EHLO client.test\r\n")
            reply(g)
            tls.sendall(b"QUIT\r\n")
            reply(g)
            return tls.session, tls.session_reused


def test_a_tls_session_resumes_with_another_smtpd_process_after_reload(make_instance):
    # kurir reload retires the smtpd that served the first session, so the
    # next one is another process. The ticket keys master hands every smtpd
    # (as Postfix's tlsmgr shares them) let it resume the session anyway.
    inst = tls_instance(make_instance)
    inst.start()
    ctx = client_context()
    first, reused = resumable_session(inst.port, ctx)
    assert not reused and first is not None and first.has_ticket
    _, reused = resumable_session(inst.port, ctx, resume=first)
    assert reused
    served = int(re.findall(r"kurir/smtpd\[(\d+)\]: connect from", inst.log())[0])
    inst.kurir("reload")
    wait_for(lambda: not os.path.exists(f"/proc/{served}"), what=f"smtpd {served} to exit after the reload")
    _, reused = resumable_session(inst.port, ctx, resume=first)
    assert reused
    pids = re.findall(r"kurir/smtpd\[(\d+)\]: connect from", inst.log())
    assert len(pids) == 3 and pids[2] not in pids[:2], inst.log()
