"""--disk tmpfs: the bench with both MTAs' queues and the bench users'
Maildirs on tmpfs, where fsync costs nothing, so that a run on ext4 and one
on tmpfs separate what a message costs in CPU and hand-offs from what it
waits for the disk (issue 18). Each directory keeps its content: it is
copied into a fresh tmpfs, which is then bind-mounted over it (a bind mount,
not a move: / is a shared mount under systemd); everything is unmounted at
the end, the directories on disk untouched."""
import os
import subprocess
import tempfile


def sh(*args, **kw):
    return subprocess.run(args, check=kw.pop("check", True), **kw)


class Tmpfs:
    def __init__(self):
        self.mounts = []  # (path, stage), in mount order

    def cover(self, path):
        """path, with its content and owner, on a tmpfs from now on."""
        stage = tempfile.mkdtemp(prefix="kurir-bench-tmpfs-")
        st = os.stat(path)
        sh("mount", "-t", "tmpfs", "-o", f"size=8g,mode={st.st_mode & 0o7777:o}", "tmpfs", stage)
        self.mounts.append((path, stage))
        sh("cp", "-a", path + "/.", stage)
        os.chown(stage, st.st_uid, st.st_gid)
        sh("mount", "--bind", stage, path)

    def close(self):
        for path, stage in reversed(self.mounts):
            sh("umount", path, check=False)
            sh("umount", stage, check=False)
            os.rmdir(stage)
        self.mounts = []
