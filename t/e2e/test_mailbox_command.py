"""local(8)'s mailbox_command (issue 16): the mailbox is a command, run as
the recipient (default_privs for a name without an account) with Postfix's
environment, the message with its From_ line on standard input; its exit
status decides: 0 delivered, 75 deferred, anything else bounced."""
import os
import re

from instance import wait_for


def test_mailbox_command_gets_the_message_and_postfix_environment(make_instance):
    inst = make_instance(recipient_delimiter="+")
    out = inst.shared_dir("out")
    inst.set(mailbox_command=f"sh -c 'cat > {out}/\"$USER.$EXTENSION\"; env > {out}/env; id -u > {out}/uid'")
    inst.start()
    inst.send("s@client.test", ["anyone+tag@mx.test"], "Subject: to a command\r\n\r\nbody line\r\n")
    wait_for(lambda: re.search(r"to=<anyone\+tag@mx.test>.*status=sent", inst.log()), 30, "delivered")
    assert "status=sent (delivered to command: sh -c" in inst.log()
    got = open(os.path.join(out, "anyone.tag"), "rb").read()
    assert got.startswith(b"From s@client.test ")
    assert b"Delivered-To: anyone+tag@mx.test" in got and b"Subject: to a command" in got
    assert got.endswith(b"\nbody line\n")
    env = dict(line.split("=", 1) for line in open(os.path.join(out, "env")).read().splitlines() if "=" in line)
    assert env["SENDER"] == "s@client.test" and env["RECIPIENT"] == "anyone+tag@mx.test"
    assert env["LOCAL"] == "anyone+tag" and env["EXTENSION"] == "tag" and env["DOMAIN"] == "mx.test"
    assert env["USER"] == env["LOGNAME"] == "anyone"
    uid = int(open(os.path.join(out, "uid")).read())
    assert uid == inst.default_privs_uid()  # never root, never mail_owner


def test_mailbox_command_exit_status_defers_or_bounces(make_instance):
    inst = make_instance()
    inst.set(mailbox_command="sh -c 'cat >/dev/null; case $USER in later) exit 75;; nouser) echo no such user; exit 67;; esac'")
    inst.start()
    inst.send("s@client.test", ["later@mx.test", "nouser@mx.test"], "Subject: x\r\n\r\nx\r\n")
    wait_for(lambda: re.search(r"to=<later@mx.test>.*status=deferred", inst.log()), 30, "deferred")
    bounced = wait_for(lambda: re.search(r"to=<nouser@mx.test>.*dsn=(5\.\d\.\d), status=bounced \((.*)\)", inst.log()),
                       30, "bounced")
    assert "no such user" in bounced.group(2)
