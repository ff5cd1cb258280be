"""DKIM verification of inbound mail in smtpd (issue 17): with
smtpd_dkim_verify = yes (the default), mail from a client outside mynetworks gets one
"Authentication-Results: mx.test;" header (RFC 8601) on top, with dkim=pass
for messages signed by independent signers (dkimpy, OpenDKIM's
opendkim-testmsg), fail for a changed body, none when unsigned, permerror
when the key record is missing, temperror when DNS fails or does not
answer (the message is accepted all the same), by DATA and by BDAT. The
keys come from our own DNS server on loopback (peers.DnsServer); forged
Authentication-Results headers that claim our authserv-id are removed,
and mail from mynetworks is neither verified nor touched."""
import base64
import os
import re
import subprocess

import dkim
import pytest

from peers import DnsServer
from smtp_raw import RawSMTP

DOMAIN = "example.org"


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory):
    """An RSA key as opendkim-genkey and openssl write it: (PEM path, PEM
    bytes, the TXT record)."""
    d = tmp_path_factory.mktemp("dkim-key")
    pem = d / "sel.private"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(pem), "2048"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    der = subprocess.run(["openssl", "rsa", "-in", str(pem), "-pubout", "-outform", "DER"], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    return str(pem), pem.read_bytes(), "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def txt(record):
    """A TXT record of more than one string: a 2048-bit key is longer than
    the 255 bytes one string holds."""
    return [[record[i:i + 255] for i in range(0, len(record), 255)]]


def message(subject, body=b"Hello from example.org.\r\n"):
    return (b"From: Joe <joe@example.org>\r\nTo: alice@mx.test\r\nSubject: " + subject.encode() + b"\r\n"
            b"Date: Sun, 6 Dec 2026 18:00:00 +0000\r\nMessage-ID: <" + subject.encode() + b"@example.org>\r\n"
            b"\r\n" + body)


def dkimpy_signed(msg, key, selector=b"sel"):
    sig = dkim.sign(msg, selector, DOMAIN.encode(), key[1], canonicalize=(b"relaxed", b"simple"),
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + msg


def start(make_instance, dns, **params):
    """127.0.0.1 is outside mynetworks: the tests' client is a stranger."""
    return make_instance(dns_resolver_address=dns.address, mynetworks="192.0.2.0/24", smtpd_dkim_verify="yes",
                         dkim_verify_timeout="3s", **params).start()


def send_data(inst, rcpt, msg):
    with inst.smtp() as s:
        s.sendmail("joe@example.org", [rcpt], msg)


def send_bdat(inst, rcpt, msg):
    with RawSMTP(inst.port) as c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<joe@example.org>")[0] == 250
        assert c.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        half = len(msg) // 2
        c.send(b"BDAT %d\r\n" % half + msg[:half])
        assert c.reply()[0] == 250
        c.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
        code, text = c.reply()
        assert code == 250, text
        assert c.cmd("QUIT")[0] == 221


def delivered(inst, user):
    (path,) = inst.wait_delivered(user, 1)
    with open(path, "rb") as f:
        return f.read()


def auth_results(raw):
    """The Authentication-Results fields of a delivered message, as they
    stand (folding kept)."""
    head = raw.split(b"\n\n", 1)[0].decode()
    return re.findall(r"^Authentication-Results:.*(?:\n[ \t].*)*", head, re.M)


def unfolded(field):
    return re.sub(r"\n[ \t]+", " ", field)


def test_dkimpy_signatures_pass_fail_and_none_by_data_and_bdat(make_instance, rsa_key):
    with DnsServer({f"sel._domainkey.{DOMAIN}": {"TXT": txt(rsa_key[2])}}) as dns:
        inst = start(make_instance, dns)
        good = dkimpy_signed(message("good"), rsa_key)
        assert dkim.verify(good, dnsfunc=lambda name, timeout=5: rsa_key[2].encode())
        changed = good.replace(b"Hello from", b"Hullo from")
        for send, suffix in ((send_data, "data"), (send_bdat, "bdat")):
            send(inst, f"good-{suffix}@mx.test", good)
            send(inst, f"changed-{suffix}@mx.test", changed)
            send(inst, f"unsigned-{suffix}@mx.test", message("unsigned"))
        b_prefix = re.search(rb";b=([^;]{8})", re.sub(rb"\s+", b"", good.split(b"\r\n\r\n")[0])).group(1).decode()
        if "/" in b_prefix:  # not an RFC 2045 token: quoted
            b_prefix = f'"{b_prefix}"'
        for suffix in ("data", "bdat"):
            raw = delivered(inst, f"good-{suffix}")
            (field,) = auth_results(raw)
            assert unfolded(field) == (f"Authentication-Results: mx.test; dkim=pass header.d=example.org "
                                       f"header.s=sel header.a=rsa-sha256 header.b={b_prefix}"), field
            # Above cleanup's Received: (a trace field of ours), lines within 78 characters.
            assert raw.index(b"Authentication-Results:") < raw.index(b"Received:"), raw[:400]
            assert all(len(line) <= 78 for line in field.splitlines()), field
            # The message itself reached the mailbox unchanged: it still verifies.
            assert dkim.verify(raw.replace(b"\n", b"\r\n"), dnsfunc=lambda name, timeout=5: rsa_key[2].encode())
            (field,) = auth_results(delivered(inst, f"changed-{suffix}"))
            assert unfolded(field).startswith("Authentication-Results: mx.test; dkim=fail (body hash did not verify) "
                                              "header.d=example.org header.s=sel"), field
            assert auth_results(delivered(inst, f"unsigned-{suffix}")) == [
                "Authentication-Results: mx.test;\n\tdkim=none"]
        assert dns.queries.count((f"sel._domainkey.{DOMAIN}", "TXT")) >= 4
        log = inst.log()
        assert re.search(r"kurir/smtpd\[\d+\]: \w+: dkim=pass header\.d=example\.org "
                         r"header\.s=sel header\.a=rsa-sha256 header\.b=", log), log
        assert "NOQUEUE" not in log
        # Unsigned mail is not logged: the log keeps Postfix's lines for it.
        assert not re.search(r"kurir/smtpd\[\d+\]: \w+: dkim=none$", log, re.M), log


def opendkim_signed(msg, key, tmp_path):
    """msg signed by OpenDKIM: opendkim in test mode (-t) with its own
    configuration file (Debian 12's opendkim-testmsg answers every message
    with "dkim_chunk(): Syntax error"), which prints the signature field."""
    conf = tmp_path / "opendkim.conf"
    conf.write_text(f"Domain {DOMAIN}\nSelector od\nKeyFile {key[0]}\nMode s\nSyslog no\n"
                    f"Canonicalization relaxed/relaxed\nRequireSafeKeys no\n")
    path = tmp_path / "message.eml"
    path.write_bytes(msg)
    out = subprocess.run(["opendkim", "-x", str(conf), "-t", str(path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=True).stdout
    field = out.split(b"\n", 1)[1]  # after "opendkim: FILE:"
    assert field.startswith(b"DKIM-Signature: "), out
    return field.rstrip(b"\n").replace(b"\n", b"\r\n") + b"\r\n" + msg


def test_opendkim_signature_passes_and_a_missing_key_is_permerror(make_instance, rsa_key, tmp_path):
    signed = opendkim_signed(message("opendkim"), rsa_key, tmp_path)
    zone = {f"od._domainkey.{DOMAIN}": {"TXT": txt(rsa_key[2])}}
    with DnsServer(zone) as dns:
        inst = start(make_instance, dns)
        send_data(inst, "opendkim@mx.test", signed)
        (field,) = auth_results(delivered(inst, "opendkim"))
        assert unfolded(field).startswith(
            "Authentication-Results: mx.test; dkim=pass header.d=example.org header.s=od header.a=rsa-sha256"), field
        # No key at nokey._domainkey: permerror (RFC 6376 6.1.2), the message is taken.
        send_bdat(inst, "nokey@mx.test", dkimpy_signed(message("nokey"), rsa_key, selector=b"nokey"))
        (field,) = auth_results(delivered(inst, "nokey"))
        assert unfolded(field).startswith("Authentication-Results: mx.test; dkim=permerror (no key for signature) "
                                          "header.d=example.org header.s=nokey"), field
        # A key record that is not one: permerror too.
        dns.set(f"bad._domainkey.{DOMAIN}", "TXT", ["v=DKIM1; k=rsa; p=bm90IGEga2V5"])
        send_data(inst, "badkey@mx.test", dkimpy_signed(message("badkey"), rsa_key, selector=b"bad"))
        (field,) = auth_results(delivered(inst, "badkey"))
        assert unfolded(field).startswith("Authentication-Results: mx.test; dkim=permerror ("), field


def test_dns_failure_and_silence_are_temperror_and_the_message_is_accepted(make_instance, rsa_key):
    zone = {f"servfail._domainkey.{DOMAIN}": "SERVFAIL", f"silent._domainkey.{DOMAIN}": "DROP"}
    with DnsServer(zone) as dns:
        inst = start(make_instance, dns)
        send_data(inst, "servfail@mx.test", dkimpy_signed(message("servfail"), rsa_key, selector=b"servfail"))
        (field,) = auth_results(delivered(inst, "servfail"))
        assert unfolded(field).startswith("Authentication-Results: mx.test; dkim=temperror "
                                          "(key lookup failed temporarily) header.d=example.org "
                                          "header.s=servfail")
        # No answer at all: dkim_verify_timeout (3s) bounds the wait, then 250.
        send_bdat(inst, "silent@mx.test", dkimpy_signed(message("silent"), rsa_key, selector=b"silent"))
        dns.wait_query(f"silent._domainkey.{DOMAIN}", "TXT")
        (field,) = auth_results(delivered(inst, "silent"))
        assert unfolded(field).startswith("Authentication-Results: mx.test; dkim=temperror "), field


def test_forged_authentication_results_are_removed_and_trusted_clients_are_not_verified(make_instance):
    forged = (b"Authentication-Results: mx.test; dkim=pass header.d=bank.example\r\n"
              b"Authentication-Results: (a comment)\r\n MX.TEST;\r\n\tspf=pass smtp.mailfrom=bank.example\r\n"
              b"Authentication-Results: list.example; dkim=pass header.d=list.example\r\n")
    with DnsServer({}) as dns:
        inst = make_instance(dns_resolver_address=dns.address, mynetworks="192.0.2.0/24", smtpd_dkim_verify="yes",
                             smtpd_sasl_auth_enable="yes", smtpd_tls_auth_only="no")
        inst.kurir_passwd("joe", "s3cret pass")
        inst.start()
        send_data(inst, "forged@mx.test", forged + message("forged"))
        raw = delivered(inst, "forged")
        assert auth_results(raw) == ["Authentication-Results: mx.test;\n\tdkim=none",
                                     "Authentication-Results: list.example; dkim=pass header.d=list.example"], raw
        assert b"bank.example" not in raw
        assert re.search(r"\w+: removed 2 Authentication-Results header\(s\) claiming authserv-id mx\.test", inst.log())
        # An authenticated client sends what kurir signs: not verified, its headers kept.
        with inst.smtp() as s:
            s.login("joe", "s3cret pass")
            s.sendmail("joe@example.org", ["authenticated@mx.test"], forged + message("authenticated"))
        assert len(auth_results(delivered(inst, "authenticated"))) == 3
        # So does mynetworks.
        inst.stop()
        inst.set(mynetworks="127.0.0.0/8")
        inst.start()
        send_data(inst, "trusted@mx.test", forged + message("trusted"))
        raw = delivered(inst, "trusted")
        assert len(auth_results(raw)) == 3
        assert b"dkim=none" not in raw
        assert inst.log().count(": dkim=none") == 0
        assert not dns.queries


def test_mail_kurir_signed_passes_kurir_verification_rsa_and_ed25519(make_instance):
    """cleanup signs mail from mynetworks (test_dkim_sign.py); the same
    message coming back from outside verifies in smtpd, both signatures."""
    inst = make_instance(mynetworks="127.0.0.0/8", smtpd_dkim_verify="yes")
    rsa, rsa_txt = inst.dkim_key("rsa", "example.com", "r1")
    ed, ed_txt = inst.dkim_key("ed25519", "example.com", "e1")
    zone = {"r1._domainkey.example.com": {"TXT": txt(rsa_txt.decode())},
            "e1._domainkey.example.com": {"TXT": [ed_txt.decode()]}}
    with DnsServer(zone) as dns:
        inst.set(dkim_sign_domains="example.com", dkim_private_key=f"r1:{rsa}, e1:{ed}", dns_resolver_address=dns.address)
        inst.start()
        send_data(inst, "signed@mx.test", b"From: Joe <joe@example.com>\r\nTo: signed@mx.test\r\n"
                                          b"Subject: there and back\r\n\r\nHello.\r\n")
        raw = delivered(inst, "signed")
        assert len(re.findall(rb"^DKIM-Signature:", raw, re.M)) == 2 and not auth_results(raw), raw
        inst.stop()
        inst.set(mynetworks="192.0.2.0/24")
        inst.start()
        again = re.sub(rb"^(Return-Path|Delivered-To):.*\n", b"", raw, flags=re.M).replace(b"\n", b"\r\n")
        send_data(inst, "again@mx.test", again)
        (field,) = auth_results(delivered(inst, "again"))
        results = unfolded(field).split("; ")[1:]
        assert sorted(r.split(" header.b=")[0] for r in results) == [
            "dkim=pass header.d=example.com header.s=e1 header.a=ed25519-sha256",
            "dkim=pass header.d=example.com header.s=r1 header.a=rsa-sha256"], field


def test_verification_is_on_by_default_and_off_with_no(make_instance):
    on = make_instance(mynetworks="192.0.2.0/24").start()
    send_data(on, "alice@mx.test", message("default"))
    (field,) = auth_results(delivered(on, "alice"))
    assert unfolded(field) == "Authentication-Results: mx.test; dkim=none"
    off = make_instance(mynetworks="192.0.2.0/24", smtpd_dkim_verify="no").start()
    send_data(off, "alice@mx.test", message("off"))
    assert auth_results(delivered(off, "alice")) == []


def test_forged_authentication_results_after_a_line_cleanup_changes_are_removed(make_instance):
    """Found by review: smtpd judged header lines by their bytes as sent,
    cleanup after message_strip_characters (NUL) and masking stray CRs, and
    counted the header block differently; a line smtpd took for the end of
    the header (a NUL or CR in a name, a long field) was still a header to
    cleanup, and forged Authentication-Results fields after it were kept."""
    forged = b"Authentication-Results: mx.test; dkim=pass header.d=bank.example\r\n"
    cases = {
        "nul": b"Authentication-Results\0: mx.test; dkim=pass header.d=bank.example\r\n",
        "cr": b"X-A\r: b\r\n" + forged,
        "long": b"X-Long: " + b"y" * 500_000 + b"\r\n" + forged,
        "nulid": b"Authentication-Results: mx.test\0; dkim=pass header.d=bank.example\r\n",
        # From helper 45's review of the fix: NULs enough to make smtpd judge
        # the field, or the next line, before cleanup's bytes had come.
        "padded": b"Authentication-Results:" + b"\0" * 102_401 + b" mx.test; dkim=pass header.d=bank.example\r\n",
        "nulcont": b"Authentication-Results:\r\n" + b"\0" * 102_400 + b" mx.test; dkim=pass header.d=bank.example\r\n",
        # From helper 46's: cleanup cut the field at its last line break past
        # 90% of header_size_limit and went on adding continuation lines.
        "cut": b"Authentication-Results: (" + b"a" * 92_200 + b")\r\n\tevil.example " + b"b" * 12_000 +
               b"\r\n\tmx.test; dkim=pass header.d=bank.example\r\n",
        # From helper 47's: a removed field's lines counted toward the header
        # block in smtpd, not in cleanup, which never got them.
        "counted": b"Authentication-Results: mx.test; none\r\n" + b"\t" + b"x" * 99 + b"\r\n" * 1 +
                   (b"\t" + b"x" * 99 + b"\r\n") * 4095 + forged,
    }
    with DnsServer({}) as dns:
        inst = make_instance(dns_resolver_address=dns.address, mynetworks="192.0.2.0/24", smtpd_dkim_verify="yes")
        inst.start()
        for name, head in cases.items():
            send_bdat(inst, f"{name}@mx.test", head + message(name))  # as it is: smtplib would fix the CR
            raw = delivered(inst, name)
            assert b"bank.example" not in raw, (name, raw[:300])
            ours = [f for f in auth_results(raw) if unfolded(f).startswith("Authentication-Results: mx.test;")]
            assert ours == ["Authentication-Results: mx.test;\n\tdkim=none"], name
