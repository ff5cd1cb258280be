"""A full disk refuses new mail with a temporary error and loses nothing
that was acknowledged."""
import os
import subprocess

import pytest

from instance import wait_for


@pytest.fixture
def small_queue(make_instance):
    inst = make_instance(message_size_limit="0")
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    queue = os.path.join(inst.dir, "queue")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", queue], check=True)
    try:
        inst.kurir("check", check=False)  # lays the queue out again on the new file system
        if inst.account is not None:
            subprocess.run(["chown", "-R", f"{inst.account.pw_uid}:{inst.account.pw_gid}", queue], check=True)
        inst.start()
        yield inst
    finally:
        inst.stop()
        inst.kill_all()
        subprocess.run(["umount", "-l", queue], check=False)


def test_full_queue_gives_tempfail_and_keeps_what_was_accepted(small_queue):
    inst = small_queue
    accepted = []
    for i in range(5):
        res = inst.sendmail("-i", "vic@mx.test", input=f"Subject: small {i}\n\nsmall\n".encode())
        assert res.returncode == 0, res.stderr
        accepted.append(i)
    big = b"Subject: big\n\n" + (b"y" * 999 + b"\n") * 3000  # 3 MB: more than the queue holds
    res = inst.sendmail("-i", "vic@mx.test", input=big)
    assert res.returncode == 75, (res.returncode, res.stderr)
    assert res.stderr
    maildrop = os.path.join(inst.dir, "queue", "maildrop")
    # Over SMTP the same message gets a 4xx, not a 250.
    with inst.smtp() as s:
        code, _ = s.docmd("MAIL FROM:<s@client.test>")
        s.docmd("RCPT TO:<vic@mx.test>")
        code, _ = s.docmd("DATA")
        assert code == 354
        s.send(big.replace(b"\n", b"\r\n") + b".\r\n")
        code, text = s.getreply()
        assert 400 <= code < 500, (code, text)
    wait_for(lambda: len(inst.maildir_files("vic")) == len(accepted), 30, "every accepted message")
    inst.wait_queue_empty()
    # No temp file is left to fill the disk, and mail flows again.
    for q in ("maildrop", "incoming"):
        assert os.listdir(os.path.join(inst.dir, "queue", q)) == []
    assert inst.sendmail("-i", "vic@mx.test", input=b"Subject: after\n\nok\n").returncode == 0
    inst.wait_delivered("vic", len(accepted) + 1)
