"""The smtp client's SASL login to a relayhost (smtp_sasl_auth_enable,
smtp_sasl_password_maps, the security options and the mechanism filter),
against an aiosmtpd relay that requires AUTH (peers.SmtpReceiver with
auth_users): the login over STARTTLS relays the mail; a wrong password, a
server without TLS under the default options, and a mechanism filter that
leaves nothing defer it, in Postfix's words, and never put the password on
a connection in clear."""
import os
import re

from instance import wait_for
from peers import SmtpReceiver

MESSAGE = (b"From: s@client.test\r\nTo: r@remote.test\r\nSubject: smarthost\r\n"
           b"Message-ID: <sasl-1@client.test>\r\n\r\nvia the provider\r\n")
USERS = {"relayuser@isp.test": "s3cret:with colon"}


def log_lines(inst, pattern):
    return [line for line in inst.log().splitlines() if re.search(pattern, line)]


def smarthost(make_instance, mx, entry=None, **params):
    """An instance relaying through [localhost]:PORT with SASL on, its
    password table holding entry (default: the right login for that
    nexthop, written as relayhost writes it)."""
    inst = make_instance(smtp_tls_security_level="encrypt", smtp_sasl_auth_enable="yes", **params)
    nexthop = f"[localhost]:{mx.port}"
    if entry is None:
        entry = f"{nexthop} relayuser@isp.test:s3cret:with colon\n"
    table = inst.build_map("sasl_passwd", entry)
    # As Postfix's sasl_passwd.db: its owner's alone (root's in root mode;
    # smtp opens it before dropping privileges).
    os.chmod(table.split(":", 1)[1] + ".db", 0o600)
    inst.set(relayhost=nexthop, smtp_sasl_password_maps=table)
    return inst


def wait_deferred(inst, text):
    wait_for(lambda: log_lines(inst, r"to=<r@remote.test>, relay=none, .*status=deferred \(" + re.escape(text)),
             30, f"a deferral: {text}")


def test_login_over_starttls_relays_the_mail(make_instance):
    for mechanism in ("PLAIN", "LOGIN"):
        with SmtpReceiver(tls=True, auth_users=USERS, auth_mechanisms=(mechanism,)) as mx:
            inst = smarthost(make_instance, mx, smtp_sasl_tls_security_options="noanonymous")
            inst.start()
            inst.send("s@client.test", ["r@remote.test"], MESSAGE)
            msg = mx.wait_messages(1)[0]
            inst.wait_queue_empty()
            assert msg.tls and msg.auth_login == "relayuser@isp.test", msg
            assert mx.auth_attempts == [(mechanism, "relayuser@isp.test", "s3cret:with colon")]
            assert log_lines(inst, r"to=<r@remote.test>, relay=localhost\[127.0.0.1\]:%d, .*status=sent" % mx.port)
            inst.destroy()


def test_wrong_password_defers_with_postfix_words(make_instance):
    with SmtpReceiver(tls=True, auth_users=USERS) as mx:
        inst = smarthost(make_instance, mx, entry=f"[localhost]:{mx.port} relayuser@isp.test:wrong\n",
                         smtp_sasl_tls_security_options="noanonymous")
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], MESSAGE)
        # smtp_sasl_auth_soft_bounce = yes: the 535 is made 4.7.8, deferred, not bounced.
        wait_deferred(inst, "SASL authentication failed; server localhost[127.0.0.1] said: "
                            "535 5.7.8 Authentication credentials invalid)")
        assert log_lines(inst, r"dsn=4\.7\.8, status=deferred \(SASL authentication failed")
        assert not log_lines(inst, r"status=bounced")
        assert not mx.messages
        assert mx.auth_attempts and mx.auth_attempts[0][1:] == ("relayuser@isp.test", "wrong")


def test_default_options_refuse_plaintext_mechanisms_even_over_tls(make_instance):
    # Postfix's defaults: smtp_sasl_tls_security_options = $smtp_sasl_security_options
    # = noplaintext, noanonymous, so PLAIN and LOGIN are refused until the
    # admin relaxes the TLS options.
    with SmtpReceiver(tls=True, auth_users=USERS) as mx:
        inst = smarthost(make_instance, mx)
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], MESSAGE)
        wait_deferred(inst, "SASL authentication failed; cannot authenticate to server localhost[127.0.0.1]: "
                            "no mechanism available)")
        assert mx.auth_attempts == [] and not mx.messages
        assert not [c for s in mx.sessions for c in s.commands if c.upper().startswith("AUTH")]


def test_server_without_tls_never_gets_the_password(make_instance):
    # The server offers AUTH PLAIN LOGIN in clear; TLS is opportunistic, the
    # TLS options allow plaintext mechanisms, the plaintext ones (default) do not.
    with SmtpReceiver(tls=False, auth_users=USERS, auth_require_tls=False) as mx:
        inst = smarthost(make_instance, mx, smtp_sasl_tls_security_options="noanonymous")
        inst.set(smtp_tls_security_level="may")
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], MESSAGE)
        wait_deferred(inst, "SASL authentication failed; cannot authenticate to server localhost[127.0.0.1]: "
                            "no mechanism available)")
        assert mx.auth_attempts == [] and not mx.messages
        assert not [c for s in mx.sessions for c in s.commands if c.upper().startswith("AUTH")]


def test_mechanism_filter_picks_and_refuses(make_instance):
    # The host name is a key too (Postfix: remote host, then nexthop).
    with SmtpReceiver(tls=True, auth_users=USERS) as mx:
        inst = smarthost(make_instance, mx, entry="localhost relayuser@isp.test:s3cret:with colon\n",
                         smtp_sasl_tls_security_options="noanonymous", smtp_sasl_mechanism_filter="login")
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], MESSAGE)
        assert mx.wait_messages(1)[0].auth_login == "relayuser@isp.test"
        assert [a[0] for a in mx.auth_attempts] == ["LOGIN"]

    with SmtpReceiver(tls=True, auth_users=USERS) as mx:
        inst = smarthost(make_instance, mx, smtp_sasl_tls_security_options="noanonymous",
                         smtp_sasl_mechanism_filter="cram-md5, digest-md5")
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], MESSAGE)
        wait_deferred(inst, "SASL authentication failed: server localhost[127.0.0.1] offered no compatible "
                            "authentication mechanisms for this type of connection security)")
        assert log_lines(inst, r"warning: localhost\[127.0.0.1\]:%d offered no supported AUTH mechanisms: " % mx.port +
                               r"'login plain'")
        assert mx.auth_attempts == [] and not mx.messages


def test_sender_dependent_authentication_logs_in_per_sender(make_instance):
    # smtp_sender_dependent_authentication: the sender's entry first, then
    # @domain, then the nexthop's; a connection is never shared between senders.
    users = {"alice-login": "pw-a", "team-login": "pw-t", "host-login": "pw-h"}
    with SmtpReceiver(tls=True, auth_users=users) as mx:
        inst = smarthost(make_instance, mx, entry=f"alice@one.test alice-login:pw-a\n"
                                                  f"@two.test team-login:pw-t\n"
                                                  f"[localhost]:{mx.port} host-login:pw-h\n",
                         smtp_sasl_tls_security_options="noanonymous", smtp_sender_dependent_authentication="yes",
                         smtp_connection_cache_time_limit="10s")
        inst.start()
        senders = ["alice@one.test", "bob@two.test", "carol@three.test"]
        for sender in senders:
            inst.send(sender, ["r@remote.test"], MESSAGE)
        msgs = mx.wait_messages(3)
        inst.wait_queue_empty()
    logins = {m.mail_from: m.auth_login for m in msgs}
    assert logins == {"alice@one.test": "alice-login", "bob@two.test": "team-login",
                      "carol@three.test": "host-login"}, msgs
