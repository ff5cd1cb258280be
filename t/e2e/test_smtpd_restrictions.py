"""smtpd's restriction lists with Postfix's names: the relay check, the
sender login check, and lists kurir cannot apply refused at start instead
of at the first client."""
import os
import smtplib

import pytest


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
    ("smtpd_recipient_restrictions = permit_mynetworks, reject_rbl_client zen.example",
     'restriction "reject_rbl_client" is not implemented by kurir'),
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
