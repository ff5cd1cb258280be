"""The set-gid kurir-drop and kurir-queue and the configuration a caller
names (issue 14): a directory other than the compiled-in default is read
with the caller's own rights and acted on with the group only when the
default main.cf lists it (alternate_config_directories), as Postfix's
postdrop and postqueue; no message shows a byte the caller could not read."""
import grp
import os
import stat
import subprocess
import tempfile

import pytest

from instance import PREFIX, ensure_test_user, list_config_dir

SBIN = os.path.join(PREFIX, "sbin")
SECRET = "SECRET-4711-only-for-the-group"


def setgid_installed(program):
    st = os.stat(os.path.join(SBIN, program))
    return os.geteuid() == 0 and st.st_mode & stat.S_ISGID and grp.getgrgid(st.st_gid).gr_name == "kurirdrop"


@pytest.fixture
def evil():
    """A directory of an ordinary user whose main.cf is a symbolic link to a
    file that only root and the group kurirdrop may read."""
    if not setgid_installed("kurir-drop"):
        pytest.skip("needs root and the set-gid kurir-drop")
    acct = ensure_test_user()
    tmp = tempfile.mkdtemp(prefix="kurir-e2e-evil-")
    os.chmod(tmp, 0o755)
    secret = os.path.join(tmp, "secret.cf")
    caller = os.path.join(tmp, "caller")
    os.makedirs(os.path.join(caller, "queue", "maildrop"))
    for d in ("", "queue", "queue/maildrop"):
        os.chown(os.path.join(caller, d), acct.pw_uid, acct.pw_gid)
    os.symlink(secret, os.path.join(caller, "main.cf"))
    yield {"acct": acct, "secret": secret, "dir": caller}
    subprocess.run(["rm", "-rf", tmp])


def write_secret(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chown(path, 0, grp.getgrnam("kurirdrop").gr_gid)
    os.chmod(path, 0o640)


def as_user(acct, argv, env_dir=None, closed_stdio=False):
    env = {k: v for k, v in os.environ.items() if k != "KURIR_CONFIG"}
    if env_dir:
        env["KURIR_CONFIG"] = env_dir
    prefix = ["setpriv", f"--reuid={acct.pw_uid}", f"--regid={acct.pw_gid}", "--clear-groups", "--"]
    if closed_stdio:
        # exec with descriptors 0, 1 and 2 closed; only the exit status is seen.
        cmd = prefix + ["/bin/sh", "-c", 'exec "$@" <&- >&- 2>&-', "sh", *argv]
        return subprocess.run(cmd, env=env, timeout=60)
    return subprocess.run(prefix + argv, env=env, input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)


@pytest.mark.parametrize("program,args", [("kurir-drop", []), ("kurir-queue", ["-p"])])
@pytest.mark.parametrize("how", ["-c", "KURIR_CONFIG"])
def test_no_message_shows_a_file_only_the_group_may_read(evil, program, args, how):
    write_secret(evil["secret"], f"{SECRET} is a line without an equals sign\n")
    argv = [os.path.join(SBIN, program)] + (["-c", evil["dir"]] if how == "-c" else []) + args
    res = as_user(evil["acct"], argv, env_dir=evil["dir"] if how == "KURIR_CONFIG" else None)
    out = (res.stdout + res.stderr).decode(errors="replace")
    assert SECRET not in out, out
    assert res.returncode == 78, out  # EX_CONFIG: the caller's main.cf is not the caller's to read
    assert "Permission denied" in out, out


def test_with_stdio_closed_the_group_does_not_read_the_callers_config(evil):
    """A main.cf only the group may read naming the caller's own queue: read
    with the group, kurir-drop took its queue_directory and got as far as
    its (closed) input; read with the caller's rights it cannot be read."""
    maildrop = os.path.join(evil["dir"], "queue", "maildrop")
    write_secret(evil["secret"], f"queue_directory = {evil['dir']}/queue\n# {SECRET}\n")
    for env_dir, args in ((None, ["-c", evil["dir"]]), (evil["dir"], [])):
        res = as_user(evil["acct"], [os.path.join(SBIN, "kurir-drop"), *args], env_dir=env_dir, closed_stdio=True)
        assert res.returncode == 78, res.returncode
        assert os.listdir(maildrop) == []


def test_a_privilege_separated_instance_takes_users_mail_only_when_listed(make_instance):
    inst = make_instance().start()
    if inst.mode != "root" or not setgid_installed("kurir-drop"):
        return  # a "user" instance is written with the user's own rights
    list_config_dir(inst.dir, listed=False)
    try:
        res = inst.sendmail("u@mx.test", input=b"Subject: x\n\nx\n")
        err = res.stderr.decode()
        assert res.returncode == 75, err
        assert "alternate_config_directories" in err and inst.dir in err, err
        q = subprocess.run(inst.submitter() + [os.path.join(SBIN, "kurir-queue"), "-c", inst.dir, "-p"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        assert q.returncode != 0 and "Permission denied" in q.stderr, q.stderr
    finally:
        list_config_dir(inst.dir)
    res = inst.sendmail("u@mx.test", input=b"Subject: y\n\ny\n")
    assert res.returncode == 0, res.stderr
    inst.wait_delivered("u", 1)
