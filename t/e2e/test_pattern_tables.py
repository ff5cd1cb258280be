"""regexp: (POSIX) and pcre: (PCRE2) lookup tables deciding smtpd's access
checks: results with $n, if/endif, the whole key only, a table changed
while running, and a broken table that defers instead of accepting."""
import os
import smtplib
import subprocess

from instance import PREFIX, wait_for


def write_table(inst, name, text):
    """DIR/name, replaced whole (a reader never sees half of it)."""
    path = os.path.join(inst.dir, name)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.chmod(path + ".tmp", 0o644)
    os.replace(path + ".tmp", path)
    return path


def rcpt_reply(inst, sender, rcpt="alice@mx.test"):
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail(sender)[0] == 250
        return s.rcpt(rcpt)


def kurir_map(inst, *args):
    return subprocess.run(inst._prefix() + [os.path.join(PREFIX, "sbin", "kurir-map"), *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def test_pcre_and_regexp_tables_decide_access_checks(make_instance):
    inst = make_instance()
    senders_pcre = write_table(inst, "senders.pcre",
                               "# PCRE2 syntax: \\d\n"
                               "/^([a-z]+)\\d+@spam\\.example$/ REJECT user $1 sends spam\n")
    senders_regexp = write_table(inst, "senders.regexp",
                                 "if /@bulk\\.example$/\n"
                                 "!/^newsletter@/ 550 5.7.1 only the newsletter\n"
                                 "endif\n"
                                 "/^([^@]+)@(example\\.org)$/ DEFER ${1} at $2 later\n"
                                 # A partial key (the domain alone) is never asked of a pattern table.
                                 "/^client\\.test$/ REJECT partial key asked\n")
    clients = write_table(inst, "clients.regexp", "/^192\\.0\\.2\\.1$/ REJECT not you\n")
    inst.set(smtpd_client_restrictions=f"check_client_access regexp:{clients}",
             smtpd_sender_restrictions=f"check_sender_access pcre:{senders_pcre}, "
                                       f"check_sender_access regexp:{senders_regexp}")
    inst.start()

    assert rcpt_reply(inst, "joe42@spam.example") == (
        554, b"5.7.1 <joe42@spam.example>: Sender address rejected: user joe sends spam")
    assert rcpt_reply(inst, "sales@bulk.example") == (
        550, b"5.7.1 <sales@bulk.example>: Sender address rejected: only the newsletter")
    assert rcpt_reply(inst, "newsletter@bulk.example")[0] == 250
    assert rcpt_reply(inst, "amy@example.org") == (
        450, b"4.7.1 <amy@example.org>: Sender address rejected: amy at example.org later")
    assert rcpt_reply(inst, "a@client.test")[0] == 250
    assert ("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <joe42@spam.example>: Sender address "
            "rejected: user joe sends spam; from=<joe42@spam.example> to=<alice@mx.test> proto=ESMTP "
            "helo=<client.test>") in inst.log()

    # kurir-map queries and checks pattern tables as postmap does.
    q = kurir_map(inst, "-q", "bob7@spam.example", f"pcre:{senders_pcre}")
    assert (q.returncode, q.stdout) == (0, "REJECT user bob sends spam\n"), q.stderr
    assert kurir_map(inst, "-q", "x@y.example", f"regexp:{senders_regexp}").returncode == 1

    # A table changed while running is used at once, for the client too.
    write_table(inst, "clients.regexp", "/^(127)\\.0\\.0\\.1$/ REJECT no loopback $1\n")
    assert rcpt_reply(inst, "a@client.test") == (
        554, b"5.7.1 <localhost[127.0.0.1]>: Client host rejected: no loopback 127")
    write_table(inst, "clients.regexp", "/^192\\.0\\.2\\.1$/ REJECT not you\n")
    assert rcpt_reply(inst, "a@client.test")[0] == 250

    # A broken table answers nothing: the check defers, never accepts, and
    # the log names the file and line.
    write_table(inst, "senders.pcre", "/^ok@/ OK\n/^(a)b/ REJECT $2\n")
    assert rcpt_reply(inst, "joe42@spam.example") == (451, b"4.3.0 <alice@mx.test>: Temporary lookup failure")
    wait_for(lambda: f"{senders_pcre}, line 2: out of range replacement index \"2\"" in inst.log(), 30,
             "the table's error in the log")
    bad = kurir_map(inst, f"pcre:{senders_pcre}")
    assert bad.returncode == 65 and f"{senders_pcre}, line 2: out of range replacement index" in bad.stderr, \
        bad.stderr
    # Repaired, it decides again.
    write_table(inst, "senders.pcre", "/^([a-z]+)\\d+@spam\\.example$/ REJECT user $1 again\n")
    assert rcpt_reply(inst, "joe42@spam.example") == (
        554, b"5.7.1 <joe42@spam.example>: Sender address rejected: user joe again")
