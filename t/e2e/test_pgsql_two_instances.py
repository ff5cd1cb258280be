"""The two-instance layout of doc/shared-postgresql.md (issue 16): two kurir
instances (two MX hosts) read their users and routes from one PostgreSQL
database; a row changed in it is followed by both at once, without a
reload."""
import os
import re
import smtplib

from instance import ensure_test_user, wait_for

# doc/shared-postgresql.md's schema.
SCHEMA = """
CREATE TABLE virtual_domains (domain text PRIMARY KEY);
CREATE TABLE virtual_mailboxes (address text PRIMARY KEY, maildir text NOT NULL,
                                active boolean NOT NULL DEFAULT true);
CREATE TABLE transports (domain text PRIMARY KEY, transport text NOT NULL);
INSERT INTO virtual_domains VALUES ('virt.test');
INSERT INTO virtual_mailboxes VALUES ('alice@virt.test', 'virt.test/alice/');
"""
CF = {
    "pgsql-virtual-domains.cf": "SELECT domain FROM virtual_domains WHERE domain = '%s'",
    "pgsql-virtual-mailboxes.cf": "SELECT maildir FROM virtual_mailboxes WHERE address = '%s' AND active",
    "pgsql-transports.cf": "SELECT transport FROM transports WHERE domain = '%s'",
}


def configure(inst, pg_cluster):
    owner = inst.account or ensure_test_user()
    for name, query in CF.items():
        with open(os.path.join(inst.dir, name), "w") as f:
            f.write(pg_cluster.cf_text(query))
    base = inst.shared_dir("vmail")
    inst.set(virtual_mailbox_domains=f"pgsql:{inst.dir}/pgsql-virtual-domains.cf",
             virtual_mailbox_maps=f"pgsql:{inst.dir}/pgsql-virtual-mailboxes.cf",
             transport_maps=f"pgsql:{inst.dir}/pgsql-transports.cf",
             virtual_mailbox_base=base, virtual_uid_maps=f"static:{owner.pw_uid}",
             virtual_gid_maps=f"static:{owner.pw_gid}")
    inst.start()
    return base


def rcpt(inst, address):
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=60) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        return s.rcpt(address)[0]


def test_two_instances_follow_one_database(make_instance, pg_cluster):
    pg_cluster.create_mail_db(SCHEMA)
    mx1, mx2 = make_instance(), make_instance()
    bases = [configure(mx1, pg_cluster), configure(mx2, pg_cluster)]
    both = list(zip((mx1, mx2), bases))

    for inst, _ in both:
        assert rcpt(inst, "alice@virt.test") == 250
        assert rcpt(inst, "carol@virt.test") == 550

    # A new user: one INSERT, and both MX hosts take and deliver her mail.
    pg_cluster.psql("INSERT INTO virtual_mailboxes VALUES ('carol@virt.test', 'virt.test/carol/')")
    for inst, base in both:
        assert rcpt(inst, "carol@virt.test") == 250
        inst.send("s@client.test", ["carol@virt.test"], "Subject: hi\r\n\r\nfrom the shared database\r\n")
        new = os.path.join(base, "virt.test", "carol", "new")
        wait_for(lambda: os.path.isdir(new) and len(os.listdir(new)) == 1, 60, f"carol's message on {inst.dir}")

    # A user switched off and a new domain, routed elsewhere: both follow.
    pg_cluster.psql("UPDATE virtual_mailboxes SET active = false WHERE address = 'alice@virt.test'; "
                    "INSERT INTO transports VALUES ('moved.test', 'discard:moved by sql')")
    for inst, _ in both:
        assert rcpt(inst, "alice@virt.test") == 550
        inst.send("s@client.test", ["u@moved.test"], "Subject: moved\r\n\r\nx\r\n")
        wait_for(lambda: re.search(r"to=<u@moved\.test>, relay=none, .*status=sent \(moved by sql\)", inst.log()),
                 60, f"the new route on {inst.dir}")
