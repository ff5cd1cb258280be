"""pgsql: tables (issue 16) against a private PostgreSQL cluster started by
the test (pg_cluster in conftest.py): lookups as Postfix's pgsql_table(5),
a key that cannot inject SQL, virtual_mailbox_maps decided by a row, a
server restart survived by the same smtpd session, a server that is down
deferring (451 at RCPT, deferred in the queue) and never bouncing."""
import os
import smtplib
import subprocess

from instance import PREFIX, ensure_test_user, wait_for

SCHEMA = """
CREATE TABLE mailbox (address text PRIMARY KEY, maildir text NOT NULL, active boolean NOT NULL DEFAULT true);
CREATE TABLE alias (address text NOT NULL, goto text);
INSERT INTO mailbox VALUES ('alice@virt.test', 'virt.test/alice/');
INSERT INTO alias VALUES ('team@virt.test', 'alice@virt.test'), ('team@virt.test', NULL),
                         ('team@virt.test', 'bob@other.test');
"""
MAILBOX_QUERY = "SELECT maildir FROM mailbox WHERE address = '%s' AND active"


def kurir_map_q(key, table):
    return subprocess.run([os.path.join(PREFIX, "sbin", "kurir-map"), "-q", key, table], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)


def write_cf(path, text):
    with open(path, "w") as f:
        f.write(text)
    return f"pgsql:{path}"


def test_pgsql_lookups_escape_the_key_and_fail_loudly(pg_cluster, tmp_path):
    pg_cluster.create_mail_db(SCHEMA)
    mailbox = write_cf(tmp_path / "mailbox.cf", pg_cluster.cf_text(MAILBOX_QUERY, domain="virt.test"))
    r = kurir_map_q("Alice@VIRT.test", mailbox)  # keys are folded to lower case
    assert (r.returncode, r.stdout) == (0, "virt.test/alice/\n"), r.stderr
    assert kurir_map_q("nobody@virt.test", mailbox).returncode == 1
    assert kurir_map_q("alice@other.test", mailbox).returncode == 1  # outside "domain": not asked
    # A key that would end the string and add a condition that holds for
    # every row: escaped, it is only a strange address that is not there.
    for key in ("x'or'q@virt.test'='q@virt.test", "x' OR 'a'<'b@virt.test", "x\\' OR 1=1 --@virt.test"):
        r = kurir_map_q(key, mailbox)
        assert (r.returncode, r.stdout) == (1, ""), (key, r.stdout, r.stderr)

    # Several rows and NULLs through result_format, joined with commas;
    # expansion_limit exceeded is an error.
    alias = write_cf(tmp_path / "alias.cf", pg_cluster.cf_text("SELECT goto FROM alias WHERE address = '%s'",
                                                               result_format="<%s> (%u at %d)"))
    r = kurir_map_q("team@virt.test", alias)
    assert r.stdout == "<alice@virt.test> (alice at virt.test),<bob@other.test> (bob at other.test)\n", r.stderr
    limited = write_cf(tmp_path / "limited.cf", pg_cluster.cf_text("SELECT goto FROM alias WHERE address = '%s'",
                                                                   expansion_limit="1"))
    r = kurir_map_q("team@virt.test", limited)
    assert r.returncode == 70 and "expansion limit exceeded" in r.stderr, r.stderr

    # A query the server refuses and a wrong password are errors, not "not found".
    bad = write_cf(tmp_path / "bad.cf", pg_cluster.cf_text("SELECT nosuchcolumn FROM mailbox WHERE address = '%s'"))
    r = kurir_map_q("alice@virt.test", bad)
    assert r.returncode == 70 and f"pgsql:{tmp_path}/bad.cf: lookup alice@virt.test: " in r.stderr, r.stderr
    assert "nosuchcolumn" in r.stderr
    wrong = write_cf(tmp_path / "wrong.cf", pg_cluster.cf_text(MAILBOX_QUERY).replace("s3cret", "guess"))
    r = kurir_map_q("alice@virt.test", wrong)
    assert r.returncode == 70 and "password authentication failed" in r.stderr, r.stderr

    # hosts tried in order: a port with no server first, then the socket
    # directory through a postgresql:// URI, as the superuser (trust).
    dead_port = pg_cluster.port + 1 if pg_cluster.port < 32000 else pg_cluster.port - 1
    hosts = write_cf(tmp_path / "hosts.cf",
                     f"hosts = 127.0.0.1:{dead_port}, postgresql:///mail?host={pg_cluster.sock}&port={pg_cluster.port}\n"
                     f"user = pgadmin\ndbname = mail\nquery = {MAILBOX_QUERY}\n")
    r = kurir_map_q("alice@virt.test", hosts)
    assert (r.returncode, r.stdout) == (0, "virt.test/alice/\n"), r.stderr

    pg_cluster.stop()
    r = kurir_map_q("alice@virt.test", mailbox)
    assert r.returncode == 70 and "connect to 127.0.0.1:" in r.stderr and r.stdout == "", r.stderr


def rcpt(inst, address):
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=60) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        return s.rcpt(address)


def virtual_instance(inst, pg_cluster, base):
    """inst with virt.test's mailboxes in pg_cluster's mailbox table."""
    owner = inst.account or ensure_test_user()
    mailbox = write_cf(os.path.join(inst.dir, "pgsql-mailbox.cf"), pg_cluster.cf_text(MAILBOX_QUERY))
    inst.set(virtual_mailbox_domains="virt.test", virtual_mailbox_maps=mailbox, virtual_mailbox_base=base,
             virtual_uid_maps=f"static:{owner.pw_uid}", virtual_gid_maps=f"static:{owner.pw_gid}")
    return inst


def test_pgsql_virtual_mailbox_maps_restart_and_outage(make_instance, pg_cluster):
    pg_cluster.create_mail_db(SCHEMA)
    inst = make_instance()
    base = inst.shared_dir("vmail")
    virtual_instance(inst, pg_cluster, base).start()
    assert rcpt(inst, "nobody@virt.test") == (550, b"5.1.1 <nobody@virt.test>: Recipient address rejected: "
                                                   b"User unknown in virtual mailbox table")
    inst.send("s@client.test", ["alice@virt.test"], "Subject: sql\r\n\r\nhello from sql\r\n")
    new = os.path.join(base, "virt.test", "alice", "new")
    wait_for(lambda: os.path.isdir(new) and len(os.listdir(new)) == 1, 60, "alice's message")

    # One session across a server restart: its smtpd's connection is dropped
    # by the server, and the next lookup makes a new one.
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=60) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        assert s.rcpt("alice@virt.test")[0] == 250
        pg_cluster.restart()
        pg_cluster.psql("INSERT INTO mailbox VALUES ('bob@virt.test', 'virt.test/bob/')")
        assert s.rcpt("bob@virt.test")[0] == 250
        assert s.rcpt("carol@virt.test")[0] == 550

        # The server down: a temporary refusal, never "User unknown".
        pg_cluster.stop()
        assert s.rcpt("bob@virt.test") == (451, b"4.3.0 <bob@virt.test>: Temporary lookup failure")
    log = inst.log()
    assert "connection to 127.0.0.1:" in log and " lost: " in log
    assert "warning: pgsql:" in log and "connect to 127.0.0.1:" in log

    # Mail already accepted (sendmail: no RCPT check) waits in the queue
    # while the server is down, and is delivered when it is back.
    r = inst.sendmail("-f", "s@client.test", "bob@virt.test", input=b"Subject: later\n\nwaited for sql\n")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "to=<bob@virt.test>, relay=virtual" in inst.log() and "status=deferred" in inst.log(), 60,
             "the deferral")
    log = inst.log()
    assert "dsn=4.3.0, status=deferred (virtual_mailbox_maps: pgsql:" in log, log[-3000:]
    assert "status=bounced" not in log
    pg_cluster.start()
    bob = os.path.join(base, "virt.test", "bob", "new")
    wait_for(lambda: os.path.isdir(bob) and len(os.listdir(bob)) == 1, 60, "bob's message after the outage")
    inst.wait_queue_empty()
    assert b"waited for sql" in open(os.path.join(bob, os.listdir(bob)[0]), "rb").read()
