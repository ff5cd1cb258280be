"""--disk tmpfs: the bench with both MTAs' queues and the bench users'
Maildirs on tmpfs, where fsync costs nothing, so that a run on ext4 and one
on tmpfs separate what a message costs in CPU and hand-offs from what it
waits for the disk (issue 18). Each directory keeps its content: it is
copied into a fresh tmpfs, which is then bind-mounted over it (a bind mount,
not a move: / is a shared mount under systemd); everything is unmounted at
the end, the directories on disk untouched."""
import os
import subprocess
import sys
import tempfile
import time


def sh(*args, **kw):
    return subprocess.run(args, check=kw.pop("check", True), **kw)


def fstype(path):
    return subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "--target", path], stdout=subprocess.PIPE,
                          text=True).stdout.strip()


class Tmpfs:
    def __init__(self):
        self.stages = []  # tmpfs mounts, each recorded once mounted
        self.binds = []   # (path, stage), each recorded once bound over path

    def cover(self, path):
        """path, with its content and owner, on a tmpfs from now on."""
        stage = tempfile.mkdtemp(prefix="kurir-bench-tmpfs-")
        st = os.stat(path)
        sh("mount", "-t", "tmpfs", "-o", f"size=8g,mode={st.st_mode & 0o7777:o}", "tmpfs", stage)
        self.stages.append(stage)
        sh("cp", "-a", path + "/.", stage)
        os.chown(stage, st.st_uid, st.st_gid)
        sh("mount", "--bind", stage, path)
        self.binds.append((path, stage))

    def close(self):
        """Unmounts everything, or says loudly what is still mounted: a
        queue left on tmpfs loses its mail at the next boot."""
        left = []
        for path, _ in reversed(self.binds):
            for _ in range(10):
                if sh("umount", path, check=False, stderr=subprocess.DEVNULL).returncode == 0:
                    break
                time.sleep(0.5)  # a process of the MTA still exiting
            else:
                sh("umount", "-l", path, check=False)
            if fstype(path) == "tmpfs":
                left.append(path)
        self.binds = []
        for stage in reversed(self.stages):
            sh("umount", "-l", stage, check=False)
            if not os.path.ismount(stage):
                os.rmdir(stage)
            else:
                left.append(stage)
        self.stages = []
        if left:
            print(f"bench: WARNING: still mounted on tmpfs: {', '.join(left)} (unmount them by hand)",
                  file=sys.stderr, flush=True)
