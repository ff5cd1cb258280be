"""pipe(8) (issue 16): a master.cf service that hands mail to a command,
as Postfix's pipe does it for dovecot-lda or a content filter: the
command line's macros one argument each, the flags' lines in the message,
the command run as user=, its exit status deciding."""
import os
import pwd
import re

import pytest

from instance import ensure_test_user, wait_for

SCRIPT = """#!/bin/sh
out={out}
case "$2" in
  later@*) exit 75 ;;
  nouser@*) echo "no such user here"; exit 67 ;;
  crash@*) echo "it broke"; exit 1 ;;
esac
printf '%s\\n' "$@" > "$out/argv.$2"
cat > "$out/msg.$2"
id -u > "$out/uid.$2"
"""


def pipe_user(inst):
    """user=: the test's unprivileged account (the instance's own in user mode)."""
    return inst.account or ensure_test_user()


def pipe_service(inst, service, attributes, limit=None):
    out = inst.shared_dir("out-" + service)
    script = os.path.join(out, "deliver.sh")
    with open(script, "w") as f:
        f.write(SCRIPT.format(out=out))
    os.chmod(script, 0o755)
    user = pipe_user(inst)
    inst.add_service(f"{service} unix - n n - - pipe\n  {attributes} user={user.pw_name} "
                     f"argv=/bin/sh {script} ${{sender}} ${{recipient}} ${{nexthop}} ${{user}} ${{extension}}")
    transport = inst.build_map("transport", f"pipe.test {service}:\n")
    inst.set(transport_maps=transport, recipient_delimiter="+")
    if limit is not None:
        inst.set(**{f"{service}_destination_recipient_limit": str(limit)})
    return out


def test_pipe_runs_the_command_as_user_with_macros_and_flags(make_instance):
    inst = make_instance()
    out = pipe_service(inst, "filter", "flags=DRFX.", limit=1)
    inst.start()
    inst.send("s@client.test", ["Bob+Tag@pipe.test", "carol@pipe.test"],
              "Subject: piped\r\n\r\n.hidden\r\nFrom here\r\nlast\r\n")
    for rcpt in ("Bob+Tag@pipe.test", "carol@pipe.test"):
        wait_for(lambda: re.search(rf"to=<{re.escape(rcpt)}>, relay=filter, .*status=sent \(delivered via filter "
                                   r"service\)", inst.log()), 30, f"{rcpt} delivered")
    argv = open(os.path.join(out, "argv.Bob+Tag@pipe.test")).read().splitlines()
    assert argv == ["s@client.test", "Bob+Tag@pipe.test", "pipe.test", "Bob", "Tag"]
    msg = open(os.path.join(out, "msg.Bob+Tag@pipe.test"), "rb").read()
    lines = msg.split(b"\n")
    assert lines[0].startswith(b"From s@client.test ")
    assert lines[1:3] == [b"Return-Path: <s@client.test>", b"Delivered-To: Bob+Tag@pipe.test"]
    assert b"\n..hidden\nFrom here\nlast\n" in msg  # '.' dot-stuffs; no '>' flag: From stays
    uid = int(open(os.path.join(out, "uid.carol@pipe.test")).read())
    assert uid == (pipe_user(inst).pw_uid if inst.mode == "root" else os.stat(inst.dir).st_uid)
    inst.wait_queue_empty()


def test_pipe_exit_status_defers_or_bounces_and_d_needs_limit_one(make_instance):
    inst = make_instance()
    pipe_service(inst, "filter", "flags=R")
    inst.start()
    for rcpt in ("later@pipe.test", "nouser@pipe.test", "crash@pipe.test"):
        inst.send("s@client.test", [rcpt], "Subject: x\r\n\r\nx\r\n")
    wait_for(lambda: re.search(r"to=<later@pipe.test>, relay=filter, .*dsn=4\.3\.0, status=deferred \(temporary "
                               r"failure\)", inst.log()), 30, "deferred")
    wait_for(lambda: re.search(r"to=<nouser@pipe.test>, relay=filter, .*dsn=5\.1\.1, status=bounced \(user unknown. "
                               r"Command output: no such user here\)", inst.log()), 30, "user unknown")
    wait_for(lambda: re.search(r"to=<crash@pipe.test>, relay=filter, .*dsn=5\.3\.0, status=bounced \(Command died "
                               r"with status 1: \"/bin/sh\". Command output: it broke\)", inst.log()), 30, "died")


def test_pipe_d_flag_with_two_recipients_defers_with_the_reason(make_instance):
    inst = make_instance()
    pipe_service(inst, "filter", "flags=D")
    inst.start()
    inst.send("s@client.test", ["a@pipe.test", "b@pipe.test"], "Subject: x\r\n\r\nx\r\n")
    wait_for(lambda: "pipe flag `D' requires filter_destination_recipient_limit = 1" in inst.log(), 30, "refusal")


def test_pipe_refuses_bad_attributes_and_root(make_instance):
    inst = make_instance()
    inst.add_service("bad unix - n n - - pipe\n  flags=Z user=nobody argv=/bin/cat")
    transport = inst.build_map("transport", "pipe.test bad:\n")
    inst.set(transport_maps=transport)
    inst.start()
    inst.send("s@client.test", ["x@pipe.test"], "Subject: x\r\n\r\nx\r\n")
    wait_for(lambda: "service bad: pipe: unknown flag 'Z' in flags=Z" in inst.log(), 30, "the refusal logged")
    assert inst.queue_files()  # the message waits, never lost
    if inst.mode != "root":
        return
    inst.stop()
    inst.add_service("asroot unix - n n - - pipe\n  user=root argv=/bin/cat")
    inst.build_map("transport", "pipe.test asroot:\n")
    inst.start()
    inst.kurir("flush")
    wait_for(lambda: re.search(r"to=<x@pipe.test>, relay=asroot, .*status=deferred \(user= root: must not be root",
                               inst.log()), 30, "root refused")
    # Nor the mail system's owner (Postfix's pipe refuses it as well): the
    # command could rewrite the queue.
    inst.stop()
    inst.add_service("asowner unix - n n - - pipe\n  user=kurir argv=/bin/cat")
    inst.build_map("transport", "pipe.test asowner:\n")
    inst.start()
    inst.kurir("flush")
    wait_for(lambda: re.search(r"to=<x@pipe.test>, relay=asowner, .*status=deferred \(user= kurir: specifies mail "
                               r"system owner kurir", inst.log()), 30, "mail_owner refused")
