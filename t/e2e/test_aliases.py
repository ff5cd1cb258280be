"""aliases(5) through newaliases/kurir-alias and local's expansion."""
import os
import pwd
import re
import subprocess

import pytest

from instance import PREFIX, wait_for


def test_alias_fans_out_to_users_file_and_command(make_instance):
    inst = make_instance()
    out = inst.shared_dir("out")
    inst.write_aliases(f"""# team aliases
team: amy, bob,
  "|cat > {out}/cmd.$$; echo ok",
  {out}/team.mbox
amy: \\amy, carl
""")
    res = inst.newaliases()
    assert res.returncode == 0, res.stderr
    # INTERFACE.md: the alias database of a kurir init instance is FILE.db.
    assert os.path.exists(os.path.join(inst.dir, "aliases.db"))
    assert not os.path.exists(os.path.join(inst.dir, "aliases.lmdb"))
    inst.start()
    inst.send("s@client.test", ["team@mx.test"], "Subject: team\r\n\r\nhello team\r\n")
    for user in ("amy", "bob", "carl"):
        files = inst.wait_delivered(user, 1)
        assert b"hello team" in open(files[0], "rb").read()
    inst.wait_queue_empty()  # every delivery of the alias is complete
    cmd_out = [f for f in os.listdir(out) if f.startswith("cmd.")][0]
    piped = open(os.path.join(out, cmd_out), "rb").read()
    assert piped.startswith(b"From s@client.test ") and b"Delivered-To: team@mx.test" in piped
    assert b"hello team" in open(os.path.join(out, "team.mbox"), "rb").read()
    assert "status=sent" in inst.log()
    if inst.mode == "root":
        assert os.stat(os.path.join(out, "team.mbox")).st_uid == inst.default_privs_uid()


def test_alias_to_a_remote_address_is_forwarded_with_delivered_to(make_instance):
    inst = make_instance(relayhost="[127.0.0.1]:9")
    inst.write_aliases("fwd: far@remote.test\n")
    assert inst.newaliases().returncode == 0
    inst.start()
    inst.send("s@client.test", ["fwd@mx.test"], "Subject: fwd\r\n\r\nforward me\r\n")
    wait_for(lambda: inst.queue_files("deferred"), 30, "the forwarded copy waiting for smtp")
    qid = os.path.basename(inst.queue_files("deferred")[0])
    cat = subprocess.run([os.path.join(PREFIX, "sbin", "kurir-cat"), "-c", inst.dir, qid],
                         stdout=subprocess.PIPE, text=True).stdout
    assert "recipient: far@remote.test" in cat and "sender: s@client.test" in cat
    assert "Delivered-To: fwd@mx.test" in cat and "forward me" in cat


def test_alias_loops_and_failing_commands_bounce_without_crashing(make_instance):
    inst = make_instance()
    inst.write_aliases('a: b\nb: a\nfails: "|exit 67"\ntemp: "|exit 75"\n')
    assert inst.newaliases().returncode == 0
    inst.start()
    inst.send("s@client.test", ["a@mx.test"], "Subject: loop\r\n\r\nx\r\n")
    inst.send("s@client.test", ["fails@mx.test"], "Subject: fails\r\n\r\nx\r\n")
    inst.send("s@client.test", ["temp@mx.test"], "Subject: temp\r\n\r\nx\r\n")
    # Waited for by recipient: the notices to s@client.test bounce as well.
    wait_for(lambda: re.search(r"to=<a@mx.test>.*status=bounced", inst.log()), 30, "the loop bounced")
    wait_for(lambda: re.search(r"to=<fails@mx.test>.*status=bounced \(Command died with status 67", inst.log()),
             30, "the failing command bounced")
    wait_for(lambda: re.search(r"to=<temp@mx.test>.*status=deferred", inst.log()), 30, "a deferral")
    log = inst.log()
    assert "killed by signal" not in log


def test_newaliases_reports_syntax_errors_with_file_and_line(make_instance):
    inst = make_instance()
    path = inst.write_aliases("ok: amy\nbroken line without colon\n")
    res = inst.newaliases()
    assert res.returncode != 0
    assert f"{path}:2:" in res.stderr


def test_kurir_map_builds_and_queries(make_instance):
    inst = make_instance()
    src = os.path.join(inst.tmp, "transport")
    with open(src, "w") as f:
        f.write("example.com smtp:[127.0.0.1]:2526\n# comment\nExample.ORG  local:\n")
    mapper = os.path.join(PREFIX, "sbin", "kurir-map")
    assert subprocess.run([mapper, f"hash:{src}"]).returncode == 0
    q = subprocess.run([mapper, "-q", "example.org", f"hash:{src}"], stdout=subprocess.PIPE, text=True)
    assert q.returncode == 0 and q.stdout == "local:\n"
    q = subprocess.run([mapper, "-q", "EXAMPLE.COM", f"hash:{src}"], stdout=subprocess.PIPE, text=True)
    assert q.stdout == "smtp:[127.0.0.1]:2526\n"
    assert subprocess.run([mapper, "-q", "nope", f"hash:{src}"], stdout=subprocess.PIPE).returncode == 1


def test_dot_forward_of_a_system_user(make_instance):
    inst = make_instance()
    if inst.mode != "root":
        pytest.skip("a .forward needs a system account with a home")
    home = os.path.join(inst.tmp, "home-fwd")
    os.mkdir(home)
    if subprocess.run(["id", "kurirfwd"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["useradd", "--system", "--home-dir", "/nonexistent", "kurirfwd"], check=False)
    subprocess.run(["usermod", "--home", home, "kurirfwd"], check=True)
    acct = pwd.getpwnam("kurirfwd")
    os.chown(home, acct.pw_uid, acct.pw_gid)
    out = os.path.join(home, "copy.mbox")
    with open(os.path.join(home, ".forward"), "w") as f:
        f.write(f"{out}, \\kurirfwd\n")
    os.chown(os.path.join(home, ".forward"), acct.pw_uid, acct.pw_gid)
    inst.start()
    inst.send("s@client.test", ["kurirfwd@mx.test"], "Subject: dotfwd\r\n\r\nvia forward\r\n")
    inst.wait_delivered("kurirfwd", 1)
    wait_for(lambda: os.path.exists(out), 20, "the .forward file copy")
    assert os.stat(out).st_uid == acct.pw_uid
    assert b"via forward" in open(out, "rb").read()
