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
