"""--disk tmpfs: the bench with both MTAs' queues and the bench users'
Maildirs on tmpfs, where fsync costs nothing, so that a run on ext4 and one
on tmpfs separate what a message costs in CPU and hand-offs from what it
waits for the disk (issue 18).

--disk ext4-journal: the same directories on one ext4 with a journal (what
mkfs.ext4 and Debian's installer make), in an image file on the machine's
own disk, mounted through a loop device with direct I/O, so that its
flushes reach the disk: a machine whose own ext4 has no journal (as a
virtual machine's often has not) then also shows what a journal changes.

Each directory keeps its content: it is copied to the new filesystem, which
is then bind-mounted over it (a bind mount, not a move: / is a shared mount
under systemd); everything is unmounted at the end, the directories on disk
untouched."""
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


class Scratch:
    """Directories moved, for one run, to a filesystem of the bench's own."""
    name = ""

    def __init__(self):
        self.stages = []  # mounts, each recorded once mounted
        self.binds = []   # (path, stage), each recorded once bound over path

    def new_stage(self):
        """An empty directory on the bench's filesystem."""
        raise NotImplementedError

    def cover(self, path):
        """path, with its content, owner and mode, on the bench's filesystem from now on."""
        stage = self.new_stage()
        st = os.stat(path)
        sh("cp", "-a", path + "/.", stage)
        os.chown(stage, st.st_uid, st.st_gid)
        os.chmod(stage, st.st_mode & 0o7777)
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
        left += self.release()
        if left:
            print(f"bench: WARNING: still mounted on {self.name}: {', '.join(left)} (unmount them by hand)",
                  file=sys.stderr, flush=True)

    def release(self):
        """What is left of the filesystem once unmounted: what could not go."""
        return []


class Tmpfs(Scratch):
    """A tmpfs for each directory: fsync costs nothing."""
    name = "tmpfs"

    def new_stage(self):
        stage = tempfile.mkdtemp(prefix="kurir-bench-tmpfs-")
        sh("mount", "-t", "tmpfs", "-o", "size=8g", "tmpfs", stage)
        self.stages.append(stage)
        return stage


class Ext4Journal(Scratch):
    """One ext4 with a journal for all the directories, in a sparse image on
    the disk /var/tmp is on, through a loop device with direct I/O."""
    name = "ext4 with a journal"

    def __init__(self):
        super().__init__()
        self.image = None
        self.loop = None
        self.root = None
        self.count = 0

    def new_stage(self):
        if self.root is None:
            fd, self.image = tempfile.mkstemp(prefix="kurir-bench-ext4-", suffix=".img", dir="/var/tmp")
            os.ftruncate(fd, 16 << 30)
            os.close(fd)
            sh("mkfs.ext4", "-q", "-F", "-O", "has_journal", self.image)
            self.loop = subprocess.run(["losetup", "--direct-io=on", "--find", "--show", self.image], check=True,
                                       stdout=subprocess.PIPE, text=True).stdout.strip()
            root = tempfile.mkdtemp(prefix="kurir-bench-ext4-")
            sh("mount", "-t", "ext4", self.loop, root)
            self.root = root
            self.stages.append(root)
        self.count += 1
        stage = os.path.join(self.root, str(self.count))
        os.mkdir(stage)
        return stage

    def release(self):
        left = []
        if self.loop and sh("losetup", "-d", self.loop, check=False).returncode != 0:
            left.append(self.loop)
        if self.image:
            os.unlink(self.image)
        self.loop = self.image = self.root = None
        return left
