"""The two MTAs of the bench (bench.py), configured alike on loopback:
Debian's Postfix (system instance, port 2641) and a kurir instance in a
temporary directory (port 2640), both delivering to the bench users'
~/Maildir; the policy and virtual-domain tables both use; the bench users."""
import errno
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = os.environ.get("KURIR_PREFIX", os.path.join(REPO, "build", "inst"))
BENCH_USER = "kurirbench"
PF_PORT, KURIR_PORT, SINK_PORT, MILTER_PORT = 2641, 2640, 2642, 2643
RELAY_DOMAIN = "relay.bench"
sys.path.insert(0, os.path.join(REPO, "t", "e2e"))
from instance import list_config_dir  # noqa: E402 (t/e2e's: the default main.cf's alternate_config_directories)
# Built by meson (bench/tls_source.cpp), not installed.
TLS_SOURCE = os.environ.get("KURIR_TLS_SOURCE", os.path.join(REPO, "build", "bench", "tls-source"))


def sh(*args, **kw):
    return subprocess.run(args, check=kw.pop("check", True), **kw)


TRASH = "/home/.kurirbench-trash"


def clear_maildirs():
    """Empty the bench users' Maildirs by moving them aside: deleting
    thousands of files just before a run would leave the filesystem busy
    with freed inodes (ext4 skips recently freed ones when it allocates) and
    charge that to whichever MTA runs next. The trash goes at the end."""
    os.makedirs(TRASH, exist_ok=True)
    for d in glob.glob("/home/*kurirbench/Maildir"):
        try:
            os.rename(d, tempfile.mkdtemp(dir=TRASH) + "/Maildir")
        except OSError as e:
            if e.errno != errno.EXDEV:
                raise
            shutil.rmtree(d)  # --disk tmpfs: another filesystem, where removing costs little


def delivered_to_maildirs():
    return sum(len(os.listdir(d)) for d in glob.glob("/home/*kurirbench/Maildir/new"))


def ensure_user(name=BENCH_USER):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        sh("useradd", "--badname", "--create-home", "--home-dir", f"/home/{name}", name)
        return pwd.getpwnam(name)


def rcpt_users(count):
    """smtp-source -r N writes to 1kurirbench .. Nkurirbench: real users, so
    that both MTAs make N separate deliveries."""
    return [ensure_user(f"{i}{BENCH_USER}") for i in range(1, count + 1)]



def bench_certificate():
    """One self-signed RSA 2048 certificate and key, root's, mode 0600, for both MTAs."""
    d = tempfile.mkdtemp(prefix="kurir-bench-tls-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=bench.test",
       "-keyout", key, "-out", cert, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    return cert, key


# -- a realistic policy (scenario policy-N) -------------------------------------------
POLICY_RESTRICTIONS = ("reject_non_fqdn_sender, reject_invalid_helo_hostname, check_recipient_access {sender}, "
                       "reject_unauth_pipelining, check_client_access {client}, check_sender_access {sender}, "
                       "reject_unlisted_recipient, permit_sasl_authenticated, permit_mynetworks, "
                       "reject_unauth_destination")


def write_policy_tables(directory):
    """The two access tables' sources and the header_checks table, none of
    which matches the bench's client, sender or headers. Returns their paths."""
    client = os.path.join(directory, "bench_client_access")
    sender = os.path.join(directory, "bench_sender_access")
    checks = os.path.join(directory, "bench_header_checks")
    with open(client, "w") as f:
        f.writelines(f"192.0.{i // 250}.{i % 250 + 1} REJECT listed client {i}\n" for i in range(1000))
    with open(sender, "w") as f:
        f.writelines(f"spammer{i}@example.com REJECT listed sender {i}\n" for i in range(1000))
    with open(checks, "w") as f:
        for i in range(20):
            f.write(f"/^Subject:.*bench-spam-{i}\\b/ REJECT spam {i}\n")
        f.write("/^X-Bench-Virus:/ REJECT virus\n/^Content-Type:.*name=.*\\.(exe|scr|pif)/ REJECT attachment\n")
    return client, sender, checks


# -- a virtual mailbox domain (scenario virtual-N) --------------------------------------
VIRTUAL_DOMAIN = "virt.bench"
VIRTUAL_BASE = "/home/vkurirbench"


def write_virtual_mailboxes(directory, user):
    """The virtual_mailbox_maps source: 1,000 other users and the bench's
    recipient, whose mailbox is VIRTUAL_BASE/Maildir/ so that clear_maildirs
    and delivered_to_maildirs see it. Returns the source's path."""
    os.makedirs(VIRTUAL_BASE, exist_ok=True)
    os.chown(VIRTUAL_BASE, user.pw_uid, user.pw_gid)
    path = os.path.join(directory, "bench_vmailbox")
    with open(path, "w") as f:
        f.writelines(f"vuser{i}@{VIRTUAL_DOMAIN} vuser{i}/Maildir/\n" for i in range(1000))
        f.write(f"{BENCH_USER}@{VIRTUAL_DOMAIN} Maildir/\n")
    return path


def virtual_settings(table, user, on):
    """The main.cf lines of scenario virtual-N, the same for both MTAs."""
    if not on:
        return ["virtual_mailbox_domains =", "virtual_mailbox_maps =", "virtual_mailbox_base =",
                "virtual_uid_maps =", "virtual_gid_maps ="]
    return [f"virtual_mailbox_domains = {VIRTUAL_DOMAIN}", f"virtual_mailbox_maps = lmdb:{table}",
            f"virtual_mailbox_base = {VIRTUAL_BASE}", f"virtual_uid_maps = static:{user.pw_uid}",
            f"virtual_gid_maps = static:{user.pw_gid}"]


# -- the two MTAs ---------------------------------------------------------------------
class Postfix:
    name = "postfix"
    port = PF_PORT

    def __init__(self, user):
        self.user = user
        self.maildir = os.path.join(user.pw_dir, "Maildir")
        self.rcpt_domain = "localhost"
        if not shutil.which("postfix"):
            sh("sh", "-c", "echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections")
            sh("apt-get", "install", "-y", "-qq", "postfix", env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        sh("postfix", "stop", check=False, stderr=subprocess.DEVNULL)
        with open("/etc/postfix/main.cf", "w") as f:
            f.write("compatibility_level = 3.6\nqueue_directory = /var/spool/postfix\n"
                    "command_directory = /usr/sbin\ndaemon_directory = /usr/lib/postfix/sbin\n"
                    "data_directory = /var/lib/postfix\nmail_owner = postfix\nsetgid_group = postdrop\n"
                    "inet_interfaces = loopback-only\ninet_protocols = ipv4\nmydestination = localhost\n"
                    "myhostname = pf.bench\nhome_mailbox = Maildir/\nalias_maps =\nalias_database =\n"
                    "maillog_file = /var/log/postfix-bench.log\n"
                    "smtpd_recipient_restrictions = permit_mynetworks, reject\n"
                    f"relayhost = [127.0.0.1]:{SINK_PORT}\n")
        master = open("/usr/share/postfix/master.cf.dist").read()
        master = master.replace("smtp      inet  n       -       y       -       -       smtpd",
                                f"{PF_PORT}      inet  n       -       y       -       -       smtpd")
        with open("/etc/postfix/master.cf", "w") as f:
            f.write(master)

    def use_tls(self, on):
        cert, key = bench_certificate() if on else ("", "")
        sh("postconf", "-e", f"smtpd_tls_cert_file = {cert}", f"smtpd_tls_key_file = {key}",
           f"smtpd_tls_security_level = {'may' if on else ''}")

    def use_policy(self, on):
        if not on:
            sh("postconf", "-e", "smtpd_recipient_restrictions = permit_mynetworks, reject", "header_checks =")
            return
        client, sender, checks = write_policy_tables("/etc/postfix")
        sh("postmap", f"hash:{client}")
        sh("postmap", f"hash:{sender}")
        sh("postconf", "-e", "smtpd_recipient_restrictions = " +
           POLICY_RESTRICTIONS.format(client=f"hash:{client}", sender=f"hash:{sender}"),
           f"header_checks = regexp:{checks}")

    def use_milter(self, spec):
        sh("postconf", "-e", f"smtpd_milters = {spec}")

    def use_virtual(self, on):
        table = write_virtual_mailboxes("/etc/postfix", self.user) if on else ""
        if on:
            sh("postmap", f"lmdb:{table}")
        sh("postconf", "-e", *virtual_settings(table, self.user, on))
        self.rcpt_domain = VIRTUAL_DOMAIN if on else "localhost"

    def start(self):
        clear_maildirs()
        # Leftovers of an interrupted run would keep "queue empty" false.
        sh("postsuper", "-d", "ALL", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        sh("postfix", "start", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)

    def stop(self):
        sh("postfix", "stop", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        time.sleep(1)

    def master_pid(self):
        return int(open("/var/spool/postfix/pid/master.pid").read().split()[0])

    def delivered(self):
        return delivered_to_maildirs()

    def queue_empty(self):
        return all(count_files(f"/var/spool/postfix/{q}") == 0 for q in ("incoming", "active", "deferred", "maildrop"))

    def sendmail(self):
        return ["/usr/sbin/sendmail", "-i"]

    def hold_local(self, held):
        sh("postconf", "-e", f"defer_transports = {'local' if held else ''}")

    def release(self):
        sh("postfix", "reload", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sh("postqueue", "-f")

    def deferred_count(self):
        return count_files("/var/spool/postfix/deferred")

    def message_ids(self):
        return message_ids(os.path.join(self.maildir, "new"))


class Kurir:
    name = "kurir"
    port = KURIR_PORT

    def __init__(self, user, disk=None):
        self.dir = tempfile.mkdtemp(prefix="kurir-bench-")
        os.chmod(self.dir, 0o755)
        if disk:
            disk.cover(self.dir)
        self.kurir = os.path.join(PREFIX, "sbin", "kurir")
        self.rcpt_domain = "localhost"
        sh(self.kurir, "-c", self.dir + "/i", "init", "--listen", f"127.0.0.1:{KURIR_PORT}", "--hostname", "kurir.bench",
           stdout=subprocess.DEVNULL)
        with open(os.path.join(self.dir, "i", "main.cf"), "a") as f:
            f.write(f"relayhost = [127.0.0.1]:{SINK_PORT}\nhome_mailbox = Maildir/\n")
        # The set-gid kurir-drop writes into this instance's maildrop for the
        # bench user (sendmail-N) only when the default main.cf lists it, as
        # Postfix's postdrop; the test build's default is inside its prefix.
        list_config_dir(self.dir + "/i")
        self.maildir = os.path.join(user.pw_dir, "Maildir")
        self.user = user

    def use_tls(self, on):
        cert, key = bench_certificate() if on else ("", "")
        sh(os.path.join(PREFIX, "sbin", "kurir-conf"), "-c", self.dir + "/i", "-e", f"smtpd_tls_cert_file = {cert}",
           f"smtpd_tls_key_file = {key}", f"smtpd_tls_security_level = {'may' if on else ''}")

    def use_policy(self, on):
        conf = os.path.join(PREFIX, "sbin", "kurir-conf")
        if not on:
            sh(conf, "-c", self.dir + "/i", "-e", "smtpd_recipient_restrictions =", "header_checks =")
            return
        client, sender, checks = write_policy_tables(self.dir + "/i")
        for table in (client, sender):
            sh(os.path.join(PREFIX, "sbin", "kurir-map"), "-c", self.dir + "/i", f"hash:{table}")
        sh(conf, "-c", self.dir + "/i", "-e", "smtpd_recipient_restrictions = " +
           POLICY_RESTRICTIONS.format(client=f"hash:{client}", sender=f"hash:{sender}"),
           f"header_checks = regexp:{checks}")

    def use_milter(self, spec):
        sh(os.path.join(PREFIX, "sbin", "kurir-conf"), "-c", self.dir + "/i", "-e", f"smtpd_milters = {spec}")

    def use_virtual(self, on):
        table = write_virtual_mailboxes(self.dir + "/i", self.user) if on else ""
        if on:
            sh(os.path.join(PREFIX, "sbin", "kurir-map"), "-c", self.dir + "/i", f"lmdb:{table}")
        sh(os.path.join(PREFIX, "sbin", "kurir-conf"), "-c", self.dir + "/i", "-e",
           *virtual_settings(table, self.user, on))
        self.rcpt_domain = VIRTUAL_DOMAIN if on else "localhost"

    def start(self):
        clear_maildirs()
        sh(self.kurir, "-c", self.dir + "/i", "start", stdout=subprocess.DEVNULL)

    def stop(self):
        sh(self.kurir, "-c", self.dir + "/i", "stop", stdout=subprocess.DEVNULL, check=False)

    def master_pid(self):
        return int(open(os.path.join(self.dir, "i", "queue", "pid", "master.pid")).read())

    def delivered(self):
        return delivered_to_maildirs()

    def queue_empty(self):
        return all(count_files(os.path.join(self.dir, "i", "queue", q)) == 0
                   for q in ("maildrop", "incoming", "active", "deferred"))

    def sendmail(self):
        return [os.path.join(PREFIX, "sbin", "sendmail"), "-C", self.dir + "/i", "-i"]

    def hold_local(self, held):
        sh(os.path.join(PREFIX, "sbin", "kurir-conf"), "-c", self.dir + "/i", "-e",
           f"defer_transports = {'local' if held else ''}")

    def release(self):
        sh(self.kurir, "-c", self.dir + "/i", "reload", stdout=subprocess.DEVNULL)
        sh(self.kurir, "-c", self.dir + "/i", "flush", stdout=subprocess.DEVNULL)

    def deferred_count(self):
        return count_files(os.path.join(self.dir, "i", "queue", "deferred"))

    def message_ids(self):
        return message_ids(os.path.join(self.maildir, "new"))


def count_files(d):
    """Files under d (Postfix hashes some queues into subdirectories)."""
    n = 0
    for _, _, files in os.walk(d):
        n += len(files)
    return n


def message_ids(d):
    out = []
    for p in glob.glob(os.path.join(d, "*")):
        with open(p, "rb") as f:
            for line in f:
                if line.lower().startswith(b"message-id:"):
                    out.append(line.split(b":", 1)[1].strip())
                    break
                if line in (b"\n", b"\r\n"):
                    break
    return out
