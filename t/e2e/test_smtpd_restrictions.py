"""smtpd's restriction lists with Postfix's names: the relay check, the
sender login check, and lists kurir cannot apply refused at start instead
of at the first client."""
import os
import smtplib
import subprocess

import pytest

from instance import wait_for


def rcpt_reply(inst, sender, rcpt):
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail(sender)[0] == 250
        return s.rcpt(rcpt)


def test_relay_restrictions_by_postfix_default_and_by_setting(make_instance):
    # kurir's default list ends in reject_unauth_destination (the contract's
    # 554); Postfix's in defer_unauth_destination, which gives 454.
    inst = make_instance(mynetworks="192.0.2.0/24").start()
    code, text = rcpt_reply(inst, "s@client.test", "victim@far.example")
    assert (code, text) == (554, b"5.7.1 <victim@far.example>: Relay access denied")
    assert rcpt_reply(inst, "s@client.test", "alice@mx.test")[0] == 250
    assert ("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <victim@far.example>: Relay access denied; "
            "from=<s@client.test> to=<victim@far.example> proto=ESMTP helo=<client.test>") in inst.log()
    inst.stop()
    inst.set(smtpd_relay_restrictions="permit_mynetworks, defer_unauth_destination")
    inst.start()
    code, text = rcpt_reply(inst, "s@client.test", "victim@far.example")
    assert (code, text) == (454, b"4.7.1 <victim@far.example>: Relay access denied")
    # The client is in mynetworks once 127.0.0.0/8 is.
    inst.stop()
    inst.set(mynetworks="127.0.0.0/8")
    inst.start()
    assert rcpt_reply(inst, "s@client.test", "victim@far.example")[0] == 250


def test_sender_login_maps_refuse_an_owned_sender_to_a_client_not_logged_in(make_instance):
    inst = make_instance()
    logins = inst.build_map("sender_logins", "boss@mx.test alice\n@corp.test bob, carol\n")
    inst.set(smtpd_sender_login_maps=logins, smtpd_sender_restrictions="reject_sender_login_mismatch")
    inst.start()
    code, text = rcpt_reply(inst, "boss@mx.test", "alice@mx.test")
    assert (code, text) == (553, b"5.7.1 <boss@mx.test>: Sender address rejected: not logged in")
    code, text = rcpt_reply(inst, "anyone@corp.test", "alice@mx.test")
    assert code == 553 and b"not logged in" in text
    # An address nobody owns is no business of this check.
    assert rcpt_reply(inst, "free@mx.test", "alice@mx.test")[0] == 250
    assert "Sender address rejected: not logged in; from=<boss@mx.test>" in inst.log()


@pytest.mark.parametrize("setting,complaint", [
    ("smtpd_recipient_restrictions = permit_mynetworks, reject_rhsbl_client zen.example",
     'restriction "reject_rhsbl_client" is not implemented by kurir'),
    ("smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated", "an open relay otherwise"),
])
def test_lists_kurir_cannot_apply_stop_start_and_fail_check(make_instance, setting, complaint):
    inst = make_instance()
    with open(os.path.join(inst.dir, "main.cf"), "a") as f:
        f.write(setting + "\n")
    res = inst.kurir("start", check=False)
    assert res.returncode != 0 and complaint in res.stderr, res.stderr
    assert inst.kurir("status", check=False).returncode == 1
    check = inst.kurir("check", check=False)
    assert check.returncode == 78 and complaint in check.stderr and f"service 127.0.0.1:{inst.port}" in check.stderr, check.stderr


def test_a_service_override_is_checked_as_well(make_instance):
    inst = make_instance()
    inst.add_service("127.0.0.1:2525 inet n - n - - smtpd\n  -o smtpd_relay_restrictions=permit")
    check = inst.kurir("check", check=False)
    assert check.returncode == 78 and "an open relay otherwise" in check.stderr, check.stderr


def test_local_recipient_maps_passwd_aliases_and_postmaster(make_instance):
    # Postfix's default list: passwd users and every alias exist; postmaster
    # exists whatever the tables say (RFC 5321); anyone else is 550 at RCPT.
    inst = make_instance()
    inst.write_aliases("sales: root\nmailer-daemon: postmaster\n")
    assert inst.newaliases().returncode == 0
    inst.set(local_recipient_maps="unix:passwd.byname $alias_maps", recipient_delimiter="+")
    inst.start()
    for rcpt in ("postmaster@mx.test", "PostMaster@mx.test", "postmaster", "sales@mx.test", "sales+news@mx.test",
                 "root@mx.test", "mailer-daemon@mx.test"):
        assert rcpt_reply(inst, "s@client.test", rcpt)[0] == 250, rcpt
    code, text = rcpt_reply(inst, "s@client.test", "nosuch@mx.test")
    assert (code, text) == (550, b"5.1.1 <nosuch@mx.test>: Recipient address rejected: "
                                 b"User unknown in local recipient table")
    assert ("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <nosuch@mx.test>: Recipient address "
            "rejected: User unknown in local recipient table; from=<s@client.test> to=<nosuch@mx.test> "
            "proto=ESMTP helo=<client.test>") in inst.log()
    # A table that cannot answer defers everyone it would have to decide.
    inst.stop()
    inst.set(local_recipient_maps="unix:passwd.byname hash:" + os.path.join(inst.dir, "missing"))
    inst.start()
    assert rcpt_reply(inst, "s@client.test", "root@mx.test")[0] == 250
    code, text = rcpt_reply(inst, "s@client.test", "nosuch@mx.test")
    assert (code, text) == (451, b"4.3.0 <nosuch@mx.test>: Temporary lookup failure")
    assert rcpt_reply(inst, "s@client.test", "postmaster@mx.test")[0] == 250


def send(inst, sender, rcpt, helo="client.test"):
    """A whole message; (code, text) of the first refusal, or of the end of DATA."""
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo(helo)
        code, text = s.mail(sender)
        if code != 250:
            return code, text
        code, text = s.rcpt(rcpt)
        if code != 250:
            return code, text
        return s.data(b"Subject: t\r\n\r\nbody\r\n")


def test_access_tables_classes_hold_and_discard(make_instance):
    inst = make_instance()
    senders = inst.build_map("senders", "spammer.example REJECT go away\nheld.example HOLD\n"
                                         "dropped.example DISCARD\n")
    rcpts = inst.build_map("rcpts", "blocked@mx.test 550 5.7.1 not here\nclassy@mx.test strict\n")
    helos = inst.build_map("helos", "evil.test REJECT\n")
    inst.set(smtpd_restriction_classes="strict", strict="reject_non_fqdn_sender, permit",
             smtpd_helo_restrictions=f"check_helo_access {helos}",
             smtpd_sender_restrictions=f"check_sender_access {senders}",
             smtpd_recipient_restrictions=f"check_recipient_access {rcpts}")
    inst.start()
    assert rcpt_reply(inst, "a@spammer.example", "alice@mx.test") == (
        554, b"5.7.1 <a@spammer.example>: Sender address rejected: go away")
    assert ("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <a@spammer.example>: Sender address "
            "rejected: go away; from=<a@spammer.example> to=<alice@mx.test> proto=ESMTP helo=<client.test>"
            ) in inst.log()
    assert rcpt_reply(inst, "a@client.test", "blocked@mx.test") == (
        550, b"5.7.1 <blocked@mx.test>: Recipient address rejected: not here")
    assert rcpt_reply(inst, "joe", "classy@mx.test") == (
        504, b"5.5.2 <joe>: Sender address rejected: need fully-qualified address")
    assert rcpt_reply(inst, "joe@client.test", "classy@mx.test")[0] == 250
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("evil.test")
        s.mail("a@client.test")
        assert s.rcpt("alice@mx.test") == (554, b"5.7.1 <evil.test>: Helo command rejected: Access denied")
    # A real client sees the refusal too.
    res = subprocess.run(["swaks", "--server", f"127.0.0.1:{inst.port}", "--from", "b@spammer.example",
                          "--to", "alice@mx.test", "--helo", "client.test"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert res.returncode != 0 and "Sender address rejected: go away" in res.stdout, res.stdout
    # HOLD: accepted, parked in hold/, not delivered.
    assert send(inst, "x@held.example", "alice@mx.test")[0] == 250
    assert len(inst.queue_files("hold")) == 1
    assert "NOQUEUE: hold: RCPT from localhost[127.0.0.1]: <x@held.example>: Sender address triggers HOLD action" \
        in inst.log()
    # DISCARD: the client is told 250, nothing is queued or delivered.
    assert send(inst, "x@dropped.example", "alice@mx.test")[0] == 250
    assert wait_for_log(inst, "discard: message-id=")
    assert send(inst, "x@client.test", "alice@mx.test")[0] == 250
    inst.wait_delivered("alice", 1)
    assert len(inst.maildir_files("alice")) == 1
    assert len(inst.queue_files("hold")) == 1
    # A table rebuilt while running is used at once.
    inst.build_map("senders", "client.test REJECT\n")
    assert rcpt_reply(inst, "a@client.test", "alice@mx.test")[0] == 554


def test_client_access_and_delay_reject_no(make_instance):
    inst = make_instance()
    clients = inst.build_map("clients", "127.0.0.1 REJECT\n")
    inst.set(smtpd_client_restrictions=f"check_client_access {clients}")
    inst.start()
    assert rcpt_reply(inst, "a@client.test", "alice@mx.test") == (
        554, b"5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied")
    inst.stop()
    inst.set(smtpd_delay_reject="no")
    inst.start()
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        # The greeting is sent; every command after it gets the refusal.
        assert s.ehlo("client.test") == (554, b"5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied")
        assert s.mail("a@client.test")[0] == 554
        assert s.noop()[0] == 250
    assert ("NOQUEUE: reject: CONNECT from localhost[127.0.0.1]: 554 5.7.1 <localhost[127.0.0.1]>: Client host "
            "rejected: Access denied; proto=SMTP") in inst.log()


def wait_for_log(inst, text):
    return wait_for(lambda: text in inst.log(), 30, f"{text!r} in the log") or True


def test_dnsbl_and_unknown_sender_domain_answered_by_our_dns_server(make_instance):
    from peers import DnsServer
    zone = {"1.0.0.127.zen.test": {"A": ["127.0.0.2"], "TXT": ["listed: see zen.test"]},
            "ok.test": {"MX": [(10, "mx.ok.test")]},
            "aonly.test": {"A": ["192.0.2.7"]},
            "flaky.test": "SERVFAIL"}
    with DnsServer(zone) as dns:
        inst = make_instance(dns_resolver_address=dns.address,
                             smtpd_client_restrictions="reject_rbl_client zen.test",
                             smtpd_sender_restrictions="reject_unknown_sender_domain")
        inst.start()
        assert rcpt_reply(inst, "a@ok.test", "alice@mx.test") == (
            554, b"5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.test; listed: see zen.test")
        assert ("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 Service unavailable; Client host "
                "[127.0.0.1] blocked using zen.test; listed: see zen.test; from=<a@ok.test> to=<alice@mx.test>"
                ) in inst.log()
        dns.remove("1.0.0.127.zen.test")
        assert rcpt_reply(inst, "a@ok.test", "alice@mx.test")[0] == 250
        assert rcpt_reply(inst, "a@aonly.test", "alice@mx.test")[0] == 250
        assert rcpt_reply(inst, "a@gone.test", "alice@mx.test") == (
            450, b"4.1.8 <a@gone.test>: Sender address rejected: Domain not found")
        assert rcpt_reply(inst, "a@flaky.test", "alice@mx.test") == (
            450, b"4.1.8 <a@flaky.test>: Sender address rejected: Domain not found")
        assert ("gone.test", "MX") in dns.queries and ("aonly.test", "A") in dns.queries
        # A whole message goes through while the checks ask DNS.
        assert send(inst, "a@ok.test", "alice@mx.test")[0] == 250
        inst.wait_delivered("alice", 1)


def test_fail2ban_postfix_filter_matches_the_restrictions_refusals(make_instance):
    """Debian's fail2ban postfix filter (mode normal, and rbl) matches every
    refusal of the kinds it is written for, in kurir's log."""
    from peers import DnsServer
    from test_smtpd_submission import fail2ban_matches
    zone = {"1.0.0.127.zen.test": {"A": ["127.0.0.2"]}, "ok.test": {"MX": [(10, "mx.ok.test")]}}
    with DnsServer(zone) as dns:
        inst = make_instance(dns_resolver_address=dns.address, mynetworks="192.0.2.0/24",
                             local_recipient_maps="unix:passwd.byname",
                             smtpd_helo_restrictions="reject_non_fqdn_helo_hostname",
                             smtpd_sender_restrictions="reject_unknown_sender_domain")
        inst.start()
        refused = [
            ("a@ok.test", "victim@far.example", "client.test", 554),   # Relay access denied
            ("a@ok.test", "nobody-here@mx.test", "client.test", 550),  # User unknown in local recipient table
            ("a@gone.test", "root@mx.test", "client.test", 450),       # Domain not found
            ("a@ok.test", "root@mx.test", "localhost", 504),           # need fully-qualified hostname
        ]
        for sender, rcpt, helo, code in refused:
            with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
                s.ehlo(helo)
                s.mail(sender)
                assert s.rcpt(rcpt)[0] == code, (sender, rcpt, helo)
        inst.stop()
        clients = inst.build_map("clients", "127.0.0.1 REJECT\n")
        inst.set(smtpd_client_restrictions=f"check_client_access {clients}")
        inst.start()
        assert rcpt_reply(inst, "a@ok.test", "root@mx.test")[0] == 554   # Client host rejected
        inst.stop()
        inst.set(smtpd_client_restrictions="reject_rbl_client zen.test")
        inst.start()
        assert rcpt_reply(inst, "a@ok.test", "root@mx.test")[0] == 554   # Service unavailable
    log = os.path.join(inst.dir, "log", "maillog")
    matched, out = fail2ban_matches(log, "normal")
    assert matched == 6, out
    matched, out = fail2ban_matches(log, "rbl")
    assert matched == 1, out
