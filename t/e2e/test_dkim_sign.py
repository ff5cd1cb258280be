"""DKIM signing in cleanup (issue 17): mail submitted with sendmail and mail
from an SMTP client in mynetworks is signed with every key of its From:
domain (RSA and Ed25519 at once), and the delivered message verifies with
two independent verifiers, dkimpy (python3-dkim) and OpenDKIM (opendkim -t
with its keys from a file), for 8-bit bodies, long folded headers, empty
bodies and CRLF/LF mixes. Mail from a client outside mynetworks is not
signed; a key that cannot be read defers mail, never sends it unsigned."""
import os
import re
import subprocess

import dkim
import pytest

from instance import PREFIX, wait_for

MESSAGES = {
    "plain": b"From: Joe <joe@example.com>\nTo: you@mx.test\nSubject: hi\n\nHello.\n",
    "8bit": "From: J\u00f6rg <joe@example.com>\nTo: you@mx.test\nSubject: gr\u00fc\u00dfe\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            "Gr\u00fc\u00dfe aus K\u00f6ln \u2603\n".encode(),
    "folded": b"From: joe@example.com\nTo: a@mx.test,\n\tb@mx.test,\n  c@mx.test\n"
              b"Subject: a subject that is long enough to need folding over more than one line of the\n"
              b" header, with   runs of   white space\t and tabs  \n\nbody\n",
    "empty-body": b"From: joe@example.com\nSubject: nothing\n\n",
    "crlf-mix": b"From: joe@example.com\r\nTo: you@mx.test\nSubject: mixed\r\n\r\nline one\r\nline two\n"
                b"trailing space   \r\n\r\n\n\r\n",
}


@pytest.fixture
def signing(make_instance):
    def make(**params):
        inst = make_instance()
        rsa, rsa_txt = inst.dkim_key("rsa", "example.com", "r1")
        ed, ed_txt = inst.dkim_key("ed25519", "example.com", "e1")
        records = {b"r1._domainkey.example.com.": rsa_txt, b"e1._domainkey.example.com.": ed_txt}
        inst.set(dkim_sign_domains="example.com", dkim_private_key=f"r1:{rsa}, e1:{ed}", **params)
        return inst, records
    return make


def signatures(data):
    return re.findall(rb"^DKIM-Signature:", data, re.M)


def dkimpy_verifies(data, records):
    """Each DKIM-Signature, verified by dkimpy; a list of booleans."""
    dns = lambda name, timeout=5: records.get(name if name.endswith(b".") else name + b".")
    d = dkim.DKIM(data)
    return [d.verify(idx=i, dnsfunc=dns) for i in range(len(signatures(data)))]


def opendkim_verifies(tmp, data, records):
    """OpenDKIM's verdict on the message (its first signature), with the
    keys read from a file instead of DNS."""
    keys = os.path.join(tmp, "opendkim-keys")
    with open(keys, "w") as f:
        for name, txt in records.items():
            f.write(f"{name.decode().rstrip('.')} {txt.decode()}\n")
    conf = os.path.join(tmp, "opendkim.conf")
    with open(conf, "w") as f:
        f.write(f"TestPublicKeys {keys}\nMode v\nSyslog no\n")
    msg = os.path.join(tmp, "message")
    with open(msg, "wb") as f:
        f.write(data)
    r = subprocess.run(["opendkim", "-x", conf, "-t", msg], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout
    return r.stdout


def test_sendmail_and_mynetworks_mail_is_signed_with_both_keys(signing, tmp_path):
    inst, records = signing()
    inst.start()
    for n, (name, body) in enumerate(MESSAGES.items(), start=1):
        res = inst.sendmail("-f", "joe@example.com", "you@mx.test", input=body)
        assert res.returncode == 0, res.stderr
        files = inst.wait_delivered("you", n)
        data = open(sorted(files, key=os.path.getmtime)[-1], "rb").read()
        assert len(signatures(data)) == 2, (name, data)
        assert b"a=rsa-sha256" in data and b"a=ed25519-sha256" in data
        assert dkimpy_verifies(data, records) == [True, True], name
        out = opendkim_verifies(str(tmp_path), data, records)
        assert "verification (s=r1, d=example.com, 2048-bit key) succeeded" in out, (name, out)
    # SMTP from 127.0.0.1, which is in mynetworks.
    inst.send("joe@example.com", ["smtp@mx.test"], MESSAGES["folded"].replace(b"\n", b"\r\n"))
    [path] = inst.wait_delivered("smtp", 1)
    data = open(path, "rb").read()
    assert dkimpy_verifies(data, records) == [True, True]
    assert "DKIM-Signature field added (s=r1, d=example.com, a=rsa-sha256)" in inst.log()
    # A domain not listed is not signed.
    res = inst.sendmail("-f", "x@example.org", "other@mx.test", input=b"From: x@example.org\n\nunsigned\n")
    assert res.returncode == 0
    [path] = inst.wait_delivered("other", 1)
    assert signatures(open(path, "rb").read()) == []


def test_mail_from_outside_mynetworks_is_not_signed(signing):
    inst, records = signing(mynetworks="192.0.2.0/24")
    inst.start()
    inst.send("joe@example.com", ["you@mx.test"], MESSAGES["plain"].replace(b"\n", b"\r\n"))
    [path] = inst.wait_delivered("you", 1)
    assert signatures(open(path, "rb").read()) == []
    res = inst.sendmail("-f", "joe@example.com", "you@mx.test", input=MESSAGES["plain"])
    assert res.returncode == 0
    files = inst.wait_delivered("you", 2)
    assert [len(signatures(open(p, "rb").read())) for p in sorted(files, key=os.path.getmtime)] == [0, 2]


def test_signing_table_and_a_requeued_message_keeps_its_one_signature(signing):
    inst, records = signing()
    ed = os.path.join(inst.dir, "dkim-e1.pem")
    inst.set(dkim_signing_table=f"inline:{{ example.com=e1:{ed} }}", defer_transports="local")
    inst.start()
    res = inst.sendmail("-f", "joe@example.com", "you@mx.test", input=MESSAGES["8bit"])
    assert res.returncode == 0, res.stderr
    wait_for(lambda: inst.queue_files("deferred"), what="the message deferred")
    # kurir-super -r passes it through cleanup again: the signature (a P
    # record) becomes a header line and no second one is added.
    r = subprocess.run(inst._prefix() + [os.path.join(PREFIX, "sbin", "kurir-super"), "-c", inst.dir, "-r", "ALL"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 0, r.stderr
    inst.set(defer_transports="")
    inst.kurir("reload")
    [path] = inst.wait_delivered("you", 1)
    data = open(path, "rb").read()
    assert len(signatures(data)) == 1
    assert b"s=e1;" in data and b"a=ed25519-sha256" in data
    assert dkimpy_verifies(data, records) == [True]


def test_an_unreadable_key_defers_mail_and_it_is_signed_once_the_key_is_back(signing):
    inst, records = signing()
    inst.start()
    rsa = os.path.join(inst.dir, "dkim-r1.pem")
    os.rename(rsa, rsa + ".away")
    res = inst.sendmail("-f", "joe@example.com", "you@mx.test", input=MESSAGES["plain"])
    assert res.returncode == 0, res.stderr
    wait_for(lambda: "DKIM signing error" in inst.log() or "dkim-r1.pem" in inst.log(), what="the signing error")
    assert "dkim-r1.pem" in inst.log()
    assert inst.maildir_files("you") == []
    os.rename(rsa + ".away", rsa)
    # The next submission wakes pickup, which tries the waiting file again.
    res = inst.sendmail("-f", "joe@example.com", "next@mx.test", input=MESSAGES["plain"])
    assert res.returncode == 0, res.stderr
    for user in ("you", "next"):
        [path] = inst.wait_delivered(user, 1)
        assert dkimpy_verifies(open(path, "rb").read(), records) == [True, True]


def test_cleanup_loads_libcrypto_only_to_sign(make_instance, signing):
    """libcrypto's relocated data costs every process that maps it about
    0.4 MB: cleanup loads it when it first signs, not when it starts."""
    plain = make_instance().start()
    plain.send("joe@example.com", ["you@mx.test"], MESSAGES["plain"])
    plain.wait_delivered("you", 1)
    maps = wait_for(lambda: plain.maps("cleanup", "libcrypto"), what="a live cleanup process")
    assert not any(maps), maps
    inst, records = signing()
    inst.start()
    inst.send("joe@example.com", ["you@mx.test"], MESSAGES["plain"])
    data = open(inst.wait_delivered("you", 1)[0], "rb").read()
    assert all(dkimpy_verifies(data, records)) and len(signatures(data)) == 2
    assert any(wait_for(lambda: inst.maps("cleanup", "libcrypto"), what="a live cleanup process")), "signing loads it"
