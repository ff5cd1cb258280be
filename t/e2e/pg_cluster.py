"""A private PostgreSQL cluster for the pgsql: table tests: initdb into a
temporary directory, the server started on a free loopback port and a unix
socket directory of its own, stopped by its pid. The system's cluster is
never touched.

initdb and postgres refuse to run as root: run by root, the cluster belongs
to the unprivileged "postgres" account the server package made (its
temporary directory chowned to it)."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile

from instance import free_port, wait_for

PG_BIN = os.environ.get("KURIR_PG_BIN", "/usr/lib/postgresql/15/bin")
ADMIN = "pgadmin"  # the cluster's superuser (trust over the socket)
DB = "mail"
MAIL_USER = "kurirmail"  # what kurir logs in as (a password, over TCP)
MAIL_PASSWORD = "s3cret'pw"


def missing():
    """None when a cluster can be made here, else why not."""
    for prog in ("initdb", "postgres", "psql", "pg_isready"):
        if not os.access(os.path.join(PG_BIN, prog), os.X_OK):
            return f"{PG_BIN}/{prog} not found (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "run as root, and there is no \"postgres\" account to run PostgreSQL as"
    return None


class PgCluster:
    def __init__(self):
        self.account = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        self.tmp = tempfile.mkdtemp(prefix="kurir-pg-")
        os.chmod(self.tmp, 0o755)  # kurir's users reach the socket directory
        self.data = os.path.join(self.tmp, "data")
        self.sock = os.path.join(self.tmp, "sock")
        os.mkdir(self.sock)
        os.chmod(self.sock, 0o755)
        if self.account:
            for path in (self.tmp, self.sock):
                os.chown(path, self.account.pw_uid, self.account.pw_gid)
        self.port = free_port()
        self.proc = None
        self.logfile = os.path.join(self.tmp, "postgres.log")
        self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", ADMIN, "-E", "UTF8", "--locale=C",
                   "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256"])

    def _prefix(self):
        if self.account is None:
            return []
        return ["setpriv", f"--reuid={self.account.pw_uid}", f"--regid={self.account.pw_gid}",
                "--clear-groups", "--"]

    def _run(self, cmd, **kw):
        res = subprocess.run(self._prefix() + cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=120, cwd=self.tmp, **kw)
        assert res.returncode == 0, f"{' '.join(cmd)} failed ({res.returncode}): {res.stdout}"
        return res.stdout

    def start(self):
        """Starts the server and waits until it answers."""
        assert self.proc is None
        log = open(self.logfile, "a")
        self.proc = subprocess.Popen(
            self._prefix() + [os.path.join(PG_BIN, "postgres"), "-D", self.data, "-p", str(self.port),
                              "-k", self.sock, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                              "-c", "full_page_writes=off", "-c", "shared_buffers=16MB",
                              "-c", "max_connections=40"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        log.close()

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"postgres exited ({self.proc.returncode}): {self.log()[-2000:]}")
            return subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q", "-h", self.sock, "-p", str(self.port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        wait_for(ready, 60, "postgres to accept connections")
        return self

    def stop(self):
        """Fast shutdown (SIGINT to the postmaster by its pid): sessions are
        ended, as in a restart by an administrator."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def destroy(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def psql(self, sql, db=DB):
        """Runs SQL as the cluster's superuser; returns psql's output
        (unaligned, tuples only)."""
        return self._run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                          "-h", self.sock, "-p", str(self.port), "-U", ADMIN, "-d", db, "-c", sql])

    def create_mail_db(self, schema_sql):
        """The database kurir reads, its schema, and the login kurir uses
        (read-only, with a password: kurir connects over TCP)."""
        self.psql(f"CREATE DATABASE {DB}", db="postgres")
        quoted = MAIL_PASSWORD.replace("'", "''")
        self.psql(f"CREATE ROLE {MAIL_USER} LOGIN PASSWORD '{quoted}'")
        self.psql(schema_sql)
        self.psql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {MAIL_USER}")
        return self

    def cf_text(self, query, **extra):
        """A pgsql: table's .cf for this cluster, over TCP with the password."""
        lines = [f"hosts = inet:127.0.0.1:{self.port}", f"user = {MAIL_USER}", f"password = {MAIL_PASSWORD}",
                 f"dbname = {DB}", f"query = {query}"]
        lines += [f"{k} = {v}" for k, v in extra.items()]
        return "\n".join(lines) + "\n"
