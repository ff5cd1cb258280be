"""kurir-dkim (issue 17): keys it makes and signatures it writes are checked
by an independent verifier, dkimpy (python3-dkim), against the TXT record
kurir-dkim prints, for RSA and Ed25519 keys and for the messages that
trouble canonicalization: 8-bit bodies, long folded headers, empty bodies,
CRLF and LF mixed, trailing empty lines and white space."""
import os
import re
import stat
import subprocess

import dkim
import pytest

from instance import PREFIX

TOOL = os.path.join(PREFIX, "sbin", "kurir-dkim")

MESSAGES = {
    "plain": b"From: Joe <joe@example.com>\nTo: you@example.net\nSubject: hi\nDate: Sun, 6 Dec 2026 18:00:00 +0000\n"
             b"Message-ID: <1@example.com>\n\nHello.\n",
    "8bit": "From: J\u00f6rg <joe@example.com>\nTo: you@example.net\nSubject: gr\u00fc\u00dfe\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            "Gr\u00fc\u00dfe aus K\u00f6ln \u2603\n".encode(),
    "folded": b"From: joe@example.com\nTo: a@example.net,\n\tb@example.net,\n  c@example.net\n"
              b"Subject: a subject that is long enough to need folding over more than one line of the\n"
              b" header, with   runs of   white space\t and tabs  \n\nbody\n",
    "empty-body": b"From: joe@example.com\nSubject: nothing\n\n",
    "no-body": b"From: joe@example.com\nSubject: no separator either\n",
    "crlf-mix": b"From: joe@example.com\r\nTo: you@example.net\nSubject: mixed\r\n\r\nline one\r\nline two\n"
                b"trailing space   \r\n\r\n\n\r\n",
    "white-space": b"From: joe@example.com\nSubject: ws\n\n  leading\n\tand\ttabs \t\n\n\nend\n\n\n",
}


def run(*args, **kw):
    return subprocess.run([TOOL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def txt_value(zone_line):
    """The record's strings joined, from kurir-dkim's zone-file line."""
    return "".join(re.findall(r'"([^"]*)"', zone_line)).encode()


@pytest.fixture
def keys(tmp_path):
    made = {}
    for kind, selector in (("rsa", "r2026"), ("ed25519", "e2026")):
        path = tmp_path / f"{kind}.key"
        r = run("genkey", "-t", kind, "-d", "example.com", "-s", selector, "-o", str(path))
        assert r.returncode == 0, r.stderr
        line = r.stdout.decode()
        assert line.startswith(f"{selector}._domainkey.example.com. IN TXT (")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        made[kind] = (path, selector, txt_value(line))
    return made


def dns_for(keys):
    records = {f"{sel}._domainkey.example.com.".encode(): txt for _, sel, txt in keys.values()}
    return lambda name, timeout=5: records.get(name if name.endswith(b".") else name + b".")


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_signatures_verify_with_dkimpy(keys, name):
    message = MESSAGES[name]
    r = run("sign", "-d", "example.com", "-s", keys["rsa"][1], "-k", str(keys["rsa"][0]), input=message)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(message)  # the message itself is unchanged
    assert dkim.verify(r.stdout, dnsfunc=dns_for(keys)), name
    # Ed25519 needs its own selector: both keys sign at once, each verified.
    both = run("sign", "-d", "example.com", "-s", keys["ed25519"][1], "-k", str(keys["ed25519"][0]), input=message)
    assert both.returncode == 0, both.stderr
    d = dkim.DKIM(both.stdout)
    assert d.verify(idx=0, dnsfunc=dns_for(keys)), name
    assert b"a=ed25519-sha256" in both.stdout


def test_a_changed_message_does_not_verify(keys):
    signed = run("sign", "-d", "example.com", "-s", keys["rsa"][1], "-k", str(keys["rsa"][0]),
                 input=MESSAGES["plain"]).stdout
    assert dkim.verify(signed, dnsfunc=dns_for(keys))
    assert not dkim.verify(signed.replace(b"Hello.", b"Hullo."), dnsfunc=dns_for(keys))
    assert not dkim.verify(signed.replace(b"Subject: hi", b"Subject: hi!"), dnsfunc=dns_for(keys))
    # Oversigning: a second From added on top breaks it.
    assert not dkim.verify(b"From: mallory@evil.example\n" + signed, dnsfunc=dns_for(keys))


def test_two_keys_sign_at_once(keys, tmp_path):
    """Two -k options give two signatures under the one -s; dkimpy checks the
    first, made with the key published under that selector."""
    r = run("sign", "-d", "example.com", "-s", keys["rsa"][1], "-k", str(keys["rsa"][0]),
            "-k", str(keys["ed25519"][0]), input=MESSAGES["plain"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(b"DKIM-Signature:") == 2
    assert dkim.DKIM(r.stdout).verify(idx=0, dnsfunc=dns_for(keys))


def test_genkey_refuses_to_replace_or_follow_a_link(tmp_path):
    target = tmp_path / "target"
    target.write_text("keep")
    link = tmp_path / "link.key"
    link.symlink_to(target)
    r = run("genkey", "-t", "ed25519", "-d", "example.com", "-s", "s", "-o", str(link))
    assert r.returncode != 0 and b"create" in r.stderr
    r = run("genkey", "-t", "ed25519", "-d", "example.com", "-s", "s", "-o", str(target))
    assert r.returncode != 0
    assert target.read_text() == "keep"


def test_bad_arguments_and_keys_are_errors(tmp_path):
    assert run().returncode == 64
    assert run("genkey", "-t", "dsa", "-d", "e.com", "-s", "s", "-o", str(tmp_path / "k")).returncode == 64
    assert run("genkey", "-t", "rsa", "-b", "512", "-d", "e.com", "-s", "s", "-o", str(tmp_path / "k")).returncode == 64
    bogus = tmp_path / "bogus.key"
    bogus.write_text("not a key\n")
    r = run("sign", "-d", "e.com", "-s", "s", "-k", str(bogus), input=b"From: a@b\n\nx\n")
    assert r.returncode == 66 and b"not a PEM private key" in r.stderr
    r = run("txt", "-d", "e.com", "-s", "s", "-k", str(tmp_path / "missing"))
    assert r.returncode == 66 and b"No such file" in r.stderr
    key = tmp_path / "ok.key"
    assert run("genkey", "-t", "ed25519", "-d", "e.com", "-s", "s", "-o", str(key)).returncode == 0
    r = run("sign", "-d", "e.com; x=1", "-s", "s", "-k", str(key), input=b"From: a@b\n\nx\n")
    assert r.returncode == 65 and b"not a domain name" in r.stderr
    r = run("txt", "-d", "e.com", "-s", "s", "-k", str(key))
    assert r.returncode == 0 and b"k=ed25519; p=" in r.stdout


# -- verification: messages signed by dkimpy, checked by kurir-dkim verify ------------------
def dkimpy_keys(tmp_path):
    """An RSA key (made by openssl, PKCS#1 PEM as dkimpy reads it) and an
    Ed25519 key (raw, as dkimpy takes it), with their key records."""
    import base64
    import nacl.signing

    rsa_path = tmp_path / "dkimpy-rsa.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(rsa_path), "2048"], check=True,
                   stderr=subprocess.DEVNULL)
    der = subprocess.run(["openssl", "rsa", "-in", str(rsa_path), "-pubout", "-outform", "DER"], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    ed = nacl.signing.SigningKey.generate()
    return {
        "rsa": (rsa_path.read_bytes(), "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()),
        "ed25519": (base64.b64encode(bytes(ed)), "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(ed.verify_key)).decode()),
    }


def verify(message, records, tmp_path, when=None):
    path = tmp_path / "records"
    path.write_text("".join(f"{name} {txt}\n" for name, txt in records.items()))
    args = ["verify", "-K", str(path)] + (["-T", str(when)] if when else [])
    r = run(*args, input=message)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().splitlines()


@pytest.mark.parametrize("canon", [(b"relaxed", b"relaxed"), (b"simple", b"simple"), (b"relaxed", b"simple"),
                                   (b"simple", b"relaxed")])
@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_verify_what_dkimpy_signed(tmp_path, canon, name):
    keys = dkimpy_keys(tmp_path)
    message = MESSAGES[name].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # dkimpy signs CRLF text
    records = {"rsa._domainkey.example.org": keys["rsa"][1], "ed._domainkey.example.org": keys["ed25519"][1]}
    sig_rsa = dkim.sign(message, b"rsa", b"example.org", keys["rsa"][0], canonicalize=canon)
    sig_ed = dkim.sign(message, b"ed", b"example.org", keys["ed25519"][0], canonicalize=canon,
                       signature_algorithm=b"ed25519-sha256")
    lines = verify(sig_ed + sig_rsa + message, records, tmp_path)
    assert len(lines) == 2
    assert lines[0].startswith("dkim=pass header.d=example.org header.s=ed header.a=ed25519-sha256"), lines
    assert lines[1].startswith("dkim=pass header.d=example.org header.s=rsa header.a=rsa-sha256"), lines


def test_verify_failures_are_named(tmp_path):
    keys = dkimpy_keys(tmp_path)
    message = MESSAGES["plain"].replace(b"\n", b"\r\n")
    records = {"rsa._domainkey.example.org": keys["rsa"][1]}
    signed = dkim.sign(message, b"rsa", b"example.org", keys["rsa"][0]) + message
    assert verify(signed, records, tmp_path)[0].startswith("dkim=pass")
    assert verify(signed.replace(b"Hello.", b"Hullo."), records, tmp_path)[0].startswith(
        "dkim=fail (body hash did not verify)")
    assert verify(signed.replace(b"Subject: hi", b"Subject: ho"), records, tmp_path)[0].startswith(
        "dkim=fail (signature did not verify)")
    assert verify(signed, {}, tmp_path)[0].startswith("dkim=permerror (no key for signature)")
    assert verify(signed, {"rsa._domainkey.example.org": "v=DKIM1; k=rsa; p="}, tmp_path)[0].startswith(
        "dkim=permerror (key revoked)")
    assert verify(signed, {"rsa._domainkey.example.org": keys["rsa"][1].replace("k=rsa", "k=ed25519")},
                  tmp_path)[0].startswith("dkim=permerror (key type does not match a=)")
    # l= from dkimpy covers the body as signed; text added after it still passes, text changed inside fails.
    limited = dkim.sign(message, b"rsa", b"example.org", keys["rsa"][0], length=True) + message
    assert verify(limited + b"appended\r\n", records, tmp_path)[0].startswith("dkim=pass")
    assert verify(b"From: x@y\r\n\r\n", records, tmp_path) == ["dkim=none"]
    broken = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=rsa; h=to; bh=YWJj; b=YWJj\r\n" + message
    assert verify(broken, records, tmp_path)[0] == "dkim=neutral (DKIM-Signature: h= does not sign From)"


def test_verify_what_kurir_dkim_signed(keys, tmp_path):
    records = {f"{sel}._domainkey.example.com": txt.decode() for _, sel, txt in keys.values()}
    signed = run("sign", "-d", "example.com", "-s", keys["ed25519"][1], "-k", str(keys["ed25519"][0]),
                 "-T", "1800000000", input=MESSAGES["crlf-mix"]).stdout
    assert verify(signed, records, tmp_path)[0].startswith("dkim=pass header.d=example.com header.s=e2026")
