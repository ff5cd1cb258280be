"""kurir-conf shows and edits main.cf as postconf(1) does."""
import os
import subprocess

from instance import PREFIX

CONF = os.path.join(PREFIX, "sbin", "kurir-conf")


def conf(inst, *args, check=True):
    res = subprocess.run([CONF, "-c", inst.dir, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check:
        assert res.returncode == 0, res.stderr
    return res


def test_show_one_all_defaults_and_non_default(make_instance):
    inst = make_instance()
    assert conf(inst, "mydestination").stdout == "mydestination = $myhostname, localhost\n"
    assert conf(inst, "-x", "mydestination").stdout == "mydestination = mx.test, localhost\n"
    assert conf(inst, "-h", "message_size_limit").stdout == "10240000\n"
    assert conf(inst, "local_recipient_maps").stdout == "local_recipient_maps =\n"
    everything = conf(inst).stdout.splitlines()
    assert "smtpd_banner = $myhostname ESMTP $mail_name" in everything
    non_default = conf(inst, "-n").stdout.splitlines()
    assert f"queue_directory = {inst.dir}/queue" in non_default
    assert not any(line.startswith("smtpd_banner") for line in non_default)
    assert "queue_directory = /var/spool/kurir" in conf(inst, "-d").stdout.splitlines()
    res = conf(inst, "no_such_thing", check=False)
    assert res.returncode != 0 and "unknown parameter" in res.stderr


def test_edit_keeps_comments_and_refuses_bad_values(make_instance):
    inst = make_instance()
    conf(inst, "-e", "message_size_limit=5000", "relayhost = [127.0.0.1]:2526")
    text = open(os.path.join(inst.dir, "main.cf")).read()
    assert text.startswith("# kurir instance configuration")
    assert "message_size_limit = 5000\n" in text and text.count("message_size_limit") == 1
    assert conf(inst, "-h", "relayhost").stdout == "[127.0.0.1]:2526\n"
    res = conf(inst, "-e", "message_size_limit=lots", check=False)
    assert res.returncode != 0 and "message_size_limit" in res.stderr
    assert conf(inst, "-h", "message_size_limit").stdout == "5000\n"


def master_cf(inst):
    with open(os.path.join(inst.dir, "master.cf")) as f:
        return f.read()


def test_master_cf_shown_as_postconf_M_F_P(make_instance):
    inst = make_instance()
    listen = f"127.0.0.1:{inst.port}"
    out = conf(inst, "-M").stdout.splitlines()
    assert out[0].split() == [listen, "inet", "n", "-", "n", "-", "-", "smtpd"]
    assert out[1] == "pickup     unix  n       -       n       60      1       pickup"
    assert len(out) == 14  # with error, retry, discard, virtual and lmtp
    assert conf(inst, "-M", "cleanup/unix", "qmgr").stdout == (
        "cleanup    unix  -       -       n       -       0       cleanup\n"
        "qmgr       unix  n       -       n       300     1       qmgr\n")
    res = conf(inst, "-M", "nosuch/unix")
    assert res.stdout == "" and 'warning: unmatched request: "nosuch/unix"' in res.stderr
    assert conf(inst, "-F", "pickup/unix/wakeup", "qmgr/unix/process_limit").stdout == (
        "pickup/unix/wakeup = 60\nqmgr/unix/process_limit = 1\n")
    assert conf(inst, "-F", "anvil").stdout.splitlines() == [
        "anvil/unix/service = anvil", "anvil/unix/type = unix", "anvil/unix/private = -",
        "anvil/unix/unprivileged = -", "anvil/unix/chroot = n", "anvil/unix/wakeup = -",
        "anvil/unix/process_limit = 1", "anvil/unix/command = anvil"]
    assert conf(inst, "-P").stdout == ""
    bad = conf(inst, "-F", "pickup/unix/colour", check=False)
    assert bad.returncode != 0 and 'invalid field name: "colour"' in bad.stderr


def test_master_cf_edits_are_atomic_keep_mode_and_refuse_bad_input(make_instance):
    inst = make_instance()
    path = os.path.join(inst.dir, "master.cf")
    os.chmod(path, 0o640)
    owner = (os.stat(path).st_uid, os.stat(path).st_gid)  # the instance user's, in "user" mode
    conf(inst, "-P", "relay/unix/smtp_helo_timeout=30s", "relay/unix/syslog_name=kurir/relay")
    text = master_cf(inst)
    assert text.startswith("# service type")  # comments stay
    assert ("relay      unix  -       -       n       -       -       smtp\n"
            "    -o smtp_helo_timeout=30s\n"
            "    -o syslog_name=kurir/relay\n") in text
    assert "smtp           unix  -       -       n       -       -       smtp\n" in text  # others untouched
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == owner
    assert conf(inst, "-P", "relay/unix").stdout == (
        "relay/unix/smtp_helo_timeout = 30s\nrelay/unix/syslog_name = kurir/relay\n")
    conf(inst, "-P", "relay/unix/smtp_helo_timeout=45s")
    assert conf(inst, "-P", "relay/unix/smtp_helo_timeout").stdout == "relay/unix/smtp_helo_timeout = 45s\n"
    conf(inst, "-PX", "relay/unix/smtp_helo_timeout")
    assert conf(inst, "-P").stdout == "relay/unix/syslog_name = kurir/relay\n"
    # Fields and whole entries.
    conf(inst, "-F", "pickup/unix/wakeup=30")
    assert conf(inst, "-F", "pickup/unix/wakeup").stdout == "pickup/unix/wakeup = 30\n"
    conf(inst, "-M", "relay2/unix=relay2 unix - - n - - smtp -o syslog_name=kurir/relay2")
    assert "relay2     unix  -       -       n       -       -       smtp\n    -o syslog_name=kurir/relay2\n" in master_cf(inst)
    conf(inst, "-MX", "relay2/unix")
    assert "relay2" not in master_cf(inst)
    # The result still starts: master reads what was written.
    inst.start()
    assert inst.kurir("status").returncode == 0
    # Refused, and nothing written: unknown names, malformed values and entries.
    before = master_cf(inst)
    for args, why in [(["-P", "relay/unix/no_such_param=1"], "no_such_param: unknown parameter"),
                      (["-P", "relay/unix/smtp_helo_timeout=soon"], "smtp_helo_timeout"),
                      (["-P", "nosuch/unix/syslog_name=x"], 'no master.cf entry matches "nosuch/unix/syslog_name"'),
                      (["-F", "pickup/unix/process_limit=many"], "maxproc"),
                      (["-M", "relay/unix=relay unix - -"], "8 fields"),
                      (["-P", "relay/unix/syslog_name=two words"], "blanks")]:
        res = conf(inst, *args, check=False)
        assert res.returncode != 0, args
        assert why in res.stderr, (args, res.stderr)
        assert master_cf(inst) == before, args
    # Malformed master.cf input is reported, not shown.
    with open(path, "a") as f:
        f.write("broken unix -\n")
    res = conf(inst, "-M", check=False)
    assert res.returncode != 0 and "bad field count" in res.stderr and "master.cf:" in res.stderr


def test_remove_and_comment_out_main_cf_parameters(make_instance):
    inst = make_instance()
    conf(inst, "-e", "message_size_limit=5000", "relayhost=[127.0.0.1]:2526")
    path = os.path.join(inst.dir, "main.cf")
    os.chmod(path, 0o600)
    conf(inst, "-X", "message_size_limit")
    text = open(path).read()
    assert "message_size_limit" not in text and text.startswith("# kurir instance configuration")
    assert conf(inst, "-h", "message_size_limit").stdout == "10240000\n"
    conf(inst, "-#", "relayhost")
    assert "\n#relayhost = [127.0.0.1]:2526\n" in open(path).read()
    assert conf(inst, "-n", "relayhost", check=False).stdout in ("", "relayhost =\n")
    assert os.stat(path).st_mode & 0o777 == 0o600
    res = conf(inst, "-X", "no_such_thing", check=False)
    assert res.returncode != 0 and "no_such_thing: unknown parameter" in res.stderr
    res = conf(inst, "-X", "relayhost=x", check=False)
    assert res.returncode != 0 and "not name=value" in res.stderr
