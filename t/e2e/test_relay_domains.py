"""kurir as a backup MX or gateway: relay_domains accepted from anyone and
sent on with relay_transport; relay_recipient_maps refusing unknown
recipients at RCPT; other domains still refused as relaying."""
import os
import smtplib

from instance import wait_for
from peers import SmtpReceiver


def rcpt(inst, address):
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail("s@client.test")[0] == 250
        return s.rcpt(address)


def test_backup_mx_relays_known_recipients_and_refuses_the_rest(make_instance):
    with SmtpReceiver() as mx:
        inst = make_instance(mynetworks="192.0.2.0/24")
        listed = os.path.join(inst.dir, "more_relay_domains")
        with open(listed, "w") as f:
            f.write("# a /file/name pattern\nfile.test, other.test\n")
        recipients = inst.build_map("relay_recipients", "known@relay.test x\n@file.test x\nanyone@sub.relay.test x\n")
        domains = inst.build_map("relay_domain_table", "table.test x\n")
        inst.set(relay_domains=f"!excluded.relay.test relay.test {listed} {domains}",
                 relay_recipient_maps=f"{recipients} {domains}",
                 relay_transport=f"relay:[127.0.0.1]:{mx.port}", recipient_delimiter="+")
        inst.start()
        # Known: by address, by address without extension, by @domain.
        for address in ["known@relay.test", "known+tag@relay.test", "who@file.test", "anyone@sub.relay.test"]:
            assert rcpt(inst, address)[0] == 250, address
        assert rcpt(inst, "x@table.test")[0] == 550  # the domain table knows the domain, not x
        code, text = rcpt(inst, "nobody@relay.test")
        assert (code, text) == (550, b"5.1.1 <nobody@relay.test>: Recipient address rejected: "
                                     b"User unknown in relay recipient table")
        assert ("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <nobody@relay.test>: Recipient address "
                "rejected: User unknown in relay recipient table; from=<s@client.test> to=<nobody@relay.test> "
                "proto=ESMTP helo=<client.test>") in inst.log()
        # Excluded before it is listed; other domains are still relaying.
        assert rcpt(inst, "u@excluded.relay.test") == (554, b"5.7.1 <u@excluded.relay.test>: Relay access denied")
        assert rcpt(inst, "u@far.example")[0] == 554

        with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
            s.sendmail("s@client.test", ["known+tag@relay.test", "who@file.test"], b"Subject: backup\r\n\r\nbody\r\n")
        wait_for(lambda: len(mx.messages) >= 1 and not inst.queue_files(), 30, "the relayed message")
        assert sorted(a for m in mx.messages for a in m.rcpt_tos) == ["known+tag@relay.test", "who@file.test"]
        assert "relay=127.0.0.1[127.0.0.1]" in inst.log()


def test_relay_domains_without_recipient_maps_and_the_reject_code(make_instance):
    with SmtpReceiver() as mx:
        inst = make_instance(mynetworks="192.0.2.0/24", relay_domains="relay.test", relay_domains_reject_code="550",
                             relayhost=f"[127.0.0.1]:{mx.port}")
        # The relay service logs under its own name, as in Postfix's master.cf.
        master_cf = os.path.join(inst.dir, "master.cf")
        with open(master_cf) as f:
            lines = f.read().splitlines()
        at = next(i for i, line in enumerate(lines) if line.split()[:2] == ["relay", "unix"])
        lines.insert(at + 1, "  -o syslog_name=kurir/relay")
        with open(master_cf, "w") as f:
            f.write("\n".join(lines) + "\n")
        inst.start()
        # No relay_recipient_maps: anyone in the domain (and its subdomains).
        assert rcpt(inst, "whoever@relay.test")[0] == 250
        assert rcpt(inst, "whoever@deep.sub.relay.test")[0] == 250
        assert rcpt(inst, "u@notrelay.test") == (550, b"5.7.1 <u@notrelay.test>: Relay access denied")
        # relay_transport's default, "relay", goes to relayhost.
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
            s.sendmail("s@client.test", ["whoever@relay.test"], b"Subject: via relay\r\n\r\nbody\r\n")
        wait_for(lambda: mx.messages and not inst.queue_files(), 30, "the relayed message")
        assert mx.messages[0].rcpt_tos == ["whoever@relay.test"]
        assert any("kurir/relay/smtp[" in line and "to=<whoever@relay.test>" in line and "status=sent" in line
                   for line in inst.log().splitlines())


def test_a_relay_table_that_cannot_be_read_defers(make_instance):
    inst = make_instance(mynetworks="192.0.2.0/24")
    inst.set(relay_domains="relay.test", relay_recipient_maps=f"hash:{inst.dir}/missing")
    inst.start()
    code, text = rcpt(inst, "u@relay.test")
    assert (code, text) == (451, b"4.3.0 <u@relay.test>: Temporary lookup failure")
