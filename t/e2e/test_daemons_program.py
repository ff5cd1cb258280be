"""The daemons are one program under fourteen names (daemons/daemons.cpp):
one file in daemon_directory, so that a running instance maps the code they
share once, and a name it does not know is refused with a clear error."""
import os
import subprocess

from instance import PREFIX

DAEMONS = os.path.join(PREFIX, "libexec", "kurir")
NAMES = ["master", "smtpd", "pickup", "cleanup", "qmgr", "trivial-rewrite", "local", "smtp", "lmtp", "anvil",
         "pipe", "error", "discard", "virtual"]


def test_every_daemon_name_is_a_link_to_one_file():
    assert sorted(os.listdir(DAEMONS)) == sorted(NAMES)
    files = {(s.st_dev, s.st_ino) for s in (os.lstat(os.path.join(DAEMONS, n)) for n in NAMES)}
    assert len(files) == 1, files
    assert os.lstat(os.path.join(DAEMONS, "master")).st_nlink == len(NAMES)


def test_each_name_runs_its_own_daemon():
    """Each name parses its own options: the error names the daemon."""
    for name in NAMES:
        res = subprocess.run([os.path.join(DAEMONS, name), "-Z"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, timeout=30)
        assert res.returncode != 0, name
        assert f"{name}: " in res.stderr or "usage: master" in res.stderr, f"{name}: {res.stderr}"


def test_an_unknown_name_is_refused(tmp_path):
    other = tmp_path / "postdrop"
    os.symlink(os.path.join(DAEMONS, "master"), other)
    res = subprocess.run([str(other), "-c", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, timeout=30)
    assert res.returncode == 64, res
    assert res.stderr.startswith('kurir-daemons: fatal: unknown daemon name "postdrop": run as one of '), res.stderr
    assert "smtpd" in res.stderr and "trivial-rewrite" in res.stderr
    assert os.listdir(tmp_path) == ["postdrop"], "it ran nothing"


def test_a_running_instance_maps_one_daemon_file(make_instance):
    inst = make_instance().start()
    inst.send("s@client.test", ["amy@mx.test"], "Subject: one file\r\n\r\nbody\r\n")
    inst.wait_delivered("amy", 1)
    mapped = set()
    for pid, _, name in inst.processes():
        try:
            exe = os.stat(f"/proc/{pid}/exe")
        except OSError:
            continue  # it exited meanwhile
        mapped.add((os.path.basename(name), exe.st_ino))
    names = {n for n, _ in mapped}
    assert {"master", "qmgr", "pickup"} <= names, mapped
    assert len({ino for _, ino in mapped}) == 1, mapped
