"""The init scripts meson installs (issue 14, INTERFACE.md): the LSB script
P/share/kurir/init.d/kurir run against a test instance (KURIR_CONFIG), with
LSB's exit codes, and the systemd unit P/share/kurir/kurir.service checked
by systemd-analyze verify."""
import os
import re
import shutil
import socket
import subprocess

import pytest

from instance import PREFIX, wait_for

SCRIPT = os.path.join(PREFIX, "share", "kurir", "init.d", "kurir")
UNIT = os.path.join(PREFIX, "share", "kurir", "kurir.service")


def run_script(inst, *args):
    env = dict(os.environ, KURIR_CONFIG=inst.dir)
    return subprocess.run(inst._prefix() + [SCRIPT, *args], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120)


def banner(inst):
    with socket.create_connection(("127.0.0.1", inst.port), timeout=10) as s:
        return s.recv(512).decode()


def master_pid(inst):
    return open(os.path.join(inst.dir, "queue", "pid", "master.pid")).read().strip()


def test_lsb_header():
    text = open(SCRIPT).read()
    block = re.search(r"^### BEGIN INIT INFO\n(.*?)^### END INIT INFO$", text, re.M | re.S)
    assert block, text
    fields = dict(re.findall(r"^# ([\w-]+):\s+(.*)$", block.group(1), re.M))
    assert fields["Provides"].split() == ["kurir"]
    for name in ("Required-Start", "Required-Stop", "Default-Start", "Default-Stop", "Short-Description"):
        assert fields.get(name), name
    assert fields["Default-Start"].split() == ["2", "3", "4", "5"]
    assert os.access(SCRIPT, os.X_OK)
    # It runs the kurir this build installed, wherever the current directory is.
    assert f"KURIR={os.path.join(PREFIX, 'sbin', 'kurir')}\n" in text


def test_lsb_script_start_status_reload_restart_stop(make_instance):
    inst = make_instance()
    res = run_script(inst, "status")
    assert res.returncode == 3, res
    assert run_script(inst, "stop").returncode == 0  # stopping a stopped service succeeds (LSB)
    assert run_script(inst, "reload").returncode == 7  # not running

    res = run_script(inst, "start")
    inst.started = True
    assert res.returncode == 0, res.stderr
    assert banner(inst).startswith("220 ")  # start returns once the listener accepts
    assert run_script(inst, "start").returncode == 0  # already running: success (LSB)
    res = run_script(inst, "status")
    assert res.returncode == 0 and "is running" in res.stdout, res

    first = master_pid(inst)
    for action in ("reload", "force-reload"):
        before = inst.log().count("reload -- version")
        res = run_script(inst, action)
        assert res.returncode == 0, (action, res.stderr)
        wait_for(lambda: inst.log().count("reload -- version") > before, what=f"master's {action}")
    assert master_pid(inst) == first  # a reload is no restart

    res = run_script(inst, "restart")
    assert res.returncode == 0, res.stderr
    assert master_pid(inst) != first
    assert banner(inst).startswith("220 ")

    res = run_script(inst, "stop")
    assert res.returncode == 0, res.stderr
    inst.started = False
    assert run_script(inst, "status").returncode == 3
    assert inst.kurir("status", check=False).returncode == 1  # master is gone
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", inst.port), timeout=5).close()


def test_lsb_script_refuses_an_unknown_action_with_usage(make_instance):
    inst = make_instance()
    for args in (["frobnicate"], []):
        res = run_script(inst, *args)
        assert res.returncode == 2, res  # LSB: invalid or excess argument(s)
        assert "Usage:" in res.stderr and "force-reload" in res.stderr


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here, so the unit cannot be verified")
    text = open(UNIT).read()
    kurir = os.path.join(PREFIX, "sbin", "kurir")
    assert re.search(rf"^ExecStart={re.escape(kurir)} -c \$\{{KURIR_CONFIG\}} start$", text, re.M), text
    assert re.search(r"^ExecReload=.* reload$", text, re.M)
    assert re.search(r"^Type=forking$", text, re.M) and re.search(r"^PIDFile=/\S+/pid/master\.pid$", text, re.M)
    # Local delivery writes home directories and runs users' set-id programs.
    for directive in ("ProtectHome", "NoNewPrivileges", "ProtectSystem=strict", "PrivateTmp"):
        assert not re.search(rf"^{directive}", text, re.M), directive
    # verify runs man(1) for Documentation=: the pages are this build's.
    env = dict(os.environ, MANPATH=os.path.join(PREFIX, "share", "man"))
    res = subprocess.run([analyze, "verify", UNIT], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=120)
    if res.returncode != 0 and re.search(r"Failed to (connect|initialize)|Operation not permitted", res.stdout):
        pytest.skip(f"systemd-analyze verify cannot run here: {res.stdout.strip()}")
    # verify exits 0 even when it ignores a line it cannot parse: no output either.
    assert res.returncode == 0 and res.stdout.strip() == "", res.stdout
