"""The daemons are one program under fourteen names (daemons/daemons.cpp):
one file in daemon_directory, so that a running instance maps the code they
share once, and a name it does not know is refused with a clear error."""
import os
import subprocess

from instance import PREFIX

DAEMONS = os.path.join(PREFIX, "libexec", "kurir")


def run_as(path, *args):
    return subprocess.run([path, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)


def known_names(tmp_path):
    """The names the program itself knows: what it says to an unknown one."""
    other = tmp_path / "postdrop"
    os.symlink(os.path.join(DAEMONS, "master"), other)
    res = run_as(str(other), "-c", str(tmp_path))
    prefix = 'kurir-daemons: fatal: unknown daemon name "postdrop": run as one of '
    assert res.returncode == 64 and res.stderr.startswith(prefix), res
    assert os.listdir(tmp_path) == ["postdrop"], "it ran nothing"
    return sorted(res.stderr[len(prefix):].split())


def test_an_unknown_name_is_refused_with_the_names_it_knows(tmp_path):
    names = known_names(tmp_path)
    assert len(names) == 14 and {"master", "smtpd", "trivial-rewrite", "lmtp", "virtual"} <= set(names), names


def test_every_name_it_knows_is_installed_as_a_link_to_one_file(tmp_path):
    names = known_names(tmp_path)
    assert sorted(os.listdir(DAEMONS)) == names
    files = {(s.st_dev, s.st_ino) for s in (os.lstat(os.path.join(DAEMONS, n)) for n in names)}
    assert len(files) == 1, files
    assert os.lstat(os.path.join(DAEMONS, "master")).st_nlink == len(names)
    # and each has its man page (test_man_pages checks the other way)
    pages = os.listdir(os.path.join(PREFIX, "share", "man", "man8"))
    assert sorted(p[:-2] for p in pages) == names


def test_each_name_runs_its_own_daemon(tmp_path):
    """Each name parses its own options: the error names the daemon."""
    for name in known_names(tmp_path):
        res = run_as(os.path.join(DAEMONS, name), "-Z")
        assert res.returncode != 0, name
        expected = "usage: master " if name == "master" else f": {name}: unknown option"
        assert expected in res.stderr, f"{name}: {res.stderr}"


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
