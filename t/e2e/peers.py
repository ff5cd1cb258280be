"""Test peers for kurir's SMTP client (delivery agent) tests: a DNS server, a
programmable SMTP receiver and Postfix's smtp-sink, each on its own free
loopback port, started and stopped inside a test, every wait a wake-up rather
than a sleep.

    with DnsServer({"example.test": {"MX": [(10, "mx1.example.test")]},
                    "mx1.example.test": {"A": ["127.0.0.1"]}}) as dns, \\
         SmtpReceiver(tls=True) as mx:
        inst.set(dns_resolver_address=dns.address, ...)
        ...
        msg = mx.wait_messages(1)[0]

Everything here is plain Python 3 run by Debian's /usr/bin/python3 with
python3-dnslib and python3-aiosmtpd; the certificates come from the openssl
command."""
import asyncio
import atexit
import collections
import ipaddress
import os
import pwd
import re
import selectors
import signal
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import dnslib
import dnslib.server
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from instance import free_port  # noqa: F401  (re-exported for the tests)

LOOPBACK = "127.0.0.1"
DEFAULT_TIMEOUT = 10.0
DEFAULT_CERT_NAMES = ("localhost", "mx1.example.test", "127.0.0.1")
SMTP_SINK = "/usr/sbin/smtp-sink"


def _wait(cond, predicate, timeout, what, describe):
    """Block on `cond` (held by the caller) until predicate() is true; raise
    an AssertionError naming `what` and the peer's state on timeout."""
    if not cond.wait_for(predicate, timeout):
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; {describe()}")


# -- TLS material --------------------------------------------------------------

class TlsFiles(collections.namedtuple("TlsFiles", "ca_file cert_file key_file")):
    """PEM files: the test CA's certificate, and a server certificate it
    signed with its key."""


_tls_lock = threading.Lock()
_tls_dir = None
_tls_cache = {}


def _openssl(*args, cwd):
    res = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {res.stderr}")


def tls_files(names=DEFAULT_CERT_NAMES):
    """A test CA (made once per process) and a server certificate it signed
    for `names` (DNS names and IP addresses, the first DNS name also the
    subject CN), cached in a temporary directory that is removed at exit.
    All files are world-readable so a kurir running as another user can read
    the CA file."""
    global _tls_dir
    names = tuple(names)
    with _tls_lock:
        if names in _tls_cache:
            return _tls_cache[names]
        if _tls_dir is None:
            _tls_dir = tempfile.mkdtemp(prefix="kurir-e2e-tls-")
            os.chmod(_tls_dir, 0o755)
            atexit.register(shutil.rmtree, _tls_dir, True)
            _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                     "-days", "30", "-subj", "/CN=kurir e2e test CA",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=_tls_dir)
        sans = []
        for name in names:
            try:
                ipaddress.ip_address(name)
                sans.append(f"IP:{name}")
            except ValueError:
                sans.append(f"DNS:{name}")
        cn = next((n for n in names if not sans[names.index(n)].startswith("IP:")), names[0])
        stem = f"server{len(_tls_cache)}"
        with open(os.path.join(_tls_dir, stem + ".ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid,issuer\n"
                    f"subjectAltName={','.join(sans)}\n")
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", stem + ".key", "-out", stem + ".csr",
                 "-subj", f"/CN={cn}", cwd=_tls_dir)
        _openssl("x509", "-req", "-in", stem + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial",
                 str(int.from_bytes(os.urandom(8), "big")), "-days", "30", "-extfile", stem + ".ext",
                 "-out", stem + ".pem", cwd=_tls_dir)
        for f in os.listdir(_tls_dir):
            os.chmod(os.path.join(_tls_dir, f), 0o644)
        files = TlsFiles(os.path.join(_tls_dir, "ca.pem"), os.path.join(_tls_dir, stem + ".pem"),
                         os.path.join(_tls_dir, stem + ".key"))
        _tls_cache[names] = files
        return files


# The names of an instance's certificate in the smtpd TLS tests (kurir init
# --hostname mx.test, reached as localhost and 127.0.0.1).
MX_NAMES = ("mx.test", "localhost", "127.0.0.1")


def install_credentials(inst, files=None):
    """Copies a certificate and key (default: tls_files(MX_NAMES)) to where
    the instance reads them: the key 0600, root's in root mode, the instance
    user's in user mode. Returns (cert, key)."""
    files = files or tls_files(MX_NAMES)
    d = os.path.join(inst.tmp, "tls")
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    shutil.copyfile(files.cert_file, cert + ".new")
    shutil.copyfile(files.key_file, key + ".new")
    os.chmod(cert + ".new", 0o644)
    os.chmod(key + ".new", 0o600)
    if inst.account is not None:
        for f in (cert + ".new", key + ".new"):
            os.chown(f, inst.account.pw_uid, inst.account.pw_gid)
    os.rename(key + ".new", key)
    os.rename(cert + ".new", cert)
    return cert, key


def client_context(files=None):
    """A client's context that trusts the test CA (that of
    tls_files(MX_NAMES) by default) and checks the server's name."""
    return ssl.create_default_context(cafile=(files or tls_files(MX_NAMES)).ca_file)


# -- DNS -----------------------------------------------------------------------

_ACTIONS = ("SERVFAIL", "REFUSED", "NXDOMAIN", "DROP")


class _Drop(dnslib.DNSError):
    """Raised by the resolver to send no answer at all (dnslib's handler
    swallows DNSError)."""


def _fqdn(name):
    return "." if name in (".", "") else name.rstrip(".") + "."


def _norm(name):
    return str(name).rstrip(".").lower()


class _QuietLogger:
    def __init__(self, errors):
        self.errors = errors

    def log_error(self, handler, e):
        if not isinstance(e, _Drop):
            self.errors.append(repr(e))

    def __getattr__(self, name):
        if name.startswith("log_"):
            return lambda *a: None
        raise AttributeError(name)


class _Resolver:
    def __init__(self, dns):
        self.dns = dns

    def resolve(self, request, handler):
        try:
            return self.dns._resolve(request, handler)
        except _Drop:
            raise
        except Exception as e:  # a bad zone entry: SERVFAIL, and say why in .errors
            self.dns.errors.append(f"{request.q.qname} {dnslib.QTYPE[request.q.qtype]}: {e!r}")
            reply = request.reply()
            reply.header.rcode = dnslib.RCODE.SERVFAIL
            return reply


class DnsServer:
    """An authoritative-and-recursive-looking DNS server for `zone` on UDP and
    TCP of one free 127.0.0.1 port (give it to kurir as dns_resolver_address =
    server.address).

    zone: {name: records}; names are case-insensitive, with or without the
    trailing dot. records is a dict {type: value or [values]}:
      "A": ["127.0.0.1"], "AAAA": ["::1"], "MX": [(10, "mx1.example.test")]
      (or "10 mx1.example.test"; (0, ".") is a null MX), "CNAME": "target",
      "TXT": ["v=spf1 -all"], "NS"/"PTR": names, any other type dnslib knows
      as zone-file rdata text ("TLSA": ["3 1 1 abcd..."]), or a dnslib RD.
      A CNAME is followed inside the zone as a real server does.
    A value may instead be one of "SERVFAIL", "REFUSED", "NXDOMAIN", "DROP"
    (send nothing: a timeout for the client), for the whole name
    (zone["x.test"] = "SERVFAIL") or for one type ({"MX": "SERVFAIL"}).
    An unknown name answers NXDOMAIN, a known name without the asked type
    NOERROR with no answers (NODATA); both carry an SOA in the authority
    section.

    udp_truncate=True answers every UDP query with TC set and no records, so
    the client must retry over TCP.

    hold(name) keeps the answers to UDP queries for `name` (and a client's
    retries of them: same id, same source) until release(name) sends them,
    built from the zone as it is then; stop_holding(name) answers later
    queries at once again and keeps those held. No clock: a test decides
    when a lookup ends.

    Attributes: port, address ("127.0.0.1:PORT"), queries [(name, type)] in
    arrival order (name lower-case without the trailing dot, type such as
    "MX"), query_log [(name, type, "udp"|"tcp")], errors, zone (normalized;
    change it with set()/remove()). Methods: start(), stop(), set(), remove(),
    wait_query(), hold(), stop_holding(), release(), wait_held(), context
    manager."""

    def __init__(self, zone=None, *, ttl=60, udp_truncate=False, port=0, start=True):
        self.ttl = ttl
        self.udp_truncate = udp_truncate
        self.port = port
        self.zone = {}
        self.queries = []
        self.query_log = []
        self.errors = []
        self._cond = threading.Condition()
        self._servers = []
        self._thread = None
        self._wake = None
        self._holding = set()  # names whose new queries are held
        self._held = []  # [(name, request, socket, client address)]
        self._held_ids = set()  # (client address, id) of held queries: their retries are held too
        for name, records in (zone or {}).items():
            self.zone[_norm(name)] = records if isinstance(records, str) else dict(records)
        if start:
            self.start()

    @property
    def address(self):
        return f"{LOOPBACK}:{self.port}"

    # -- zone ---------------------------------------------------------------
    def set(self, name, rtype, values):
        """Set (or replace) the records of one type of `name`."""
        with self._cond:
            entry = self.zone.get(_norm(name))
            if not isinstance(entry, dict):
                entry = self.zone[_norm(name)] = {}
            entry[rtype.upper()] = values

    def remove(self, name, rtype=None):
        """Remove `name` (then NXDOMAIN) or only its `rtype` records."""
        with self._cond:
            if rtype is None:
                self.zone.pop(_norm(name), None)
            elif isinstance(self.zone.get(_norm(name)), dict):
                self.zone[_norm(name)].pop(rtype.upper(), None)

    def _rr(self, name, rtype, value):
        if isinstance(value, dnslib.RD):
            rdata = value
        elif rtype == "A":
            rdata = dnslib.A(value)
        elif rtype == "AAAA":
            rdata = dnslib.AAAA(value)
        elif rtype == "MX":
            pref, host = value.split() if isinstance(value, str) else value
            rdata = dnslib.MX(_fqdn(host), int(pref))
        elif rtype in ("CNAME", "NS", "PTR"):
            rdata = getattr(dnslib, rtype)(_fqdn(value))
        elif rtype == "TXT":
            rdata = dnslib.TXT(value)
        else:
            rdata = dnslib.RR.fromZone(f"x. {self.ttl} IN {rtype} {value}")[0].rdata
        return dnslib.RR(_fqdn(name), getattr(dnslib.QTYPE, rtype), rdata=rdata, ttl=self.ttl)

    @staticmethod
    def _values(value):
        if isinstance(value, list):
            return value
        return [value]

    @staticmethod
    def _action(value):
        if value.upper() not in _ACTIONS:
            raise ValueError(f"zone action {value!r} is none of {_ACTIONS}")
        return value.upper()

    def _answer(self, qname, qtype):
        """(rcode or "DROP", [answer RRs])"""
        answers = []
        name = qname
        for _ in range(16):  # CNAME chain limit
            entry = self.zone.get(name)
            if entry is None:
                if any(n.endswith("." + name) for n in self.zone):
                    return "NOERROR", answers  # empty non-terminal
                return "NXDOMAIN", answers
            if isinstance(entry, str):
                return self._action(entry), answers
            types = [t for t in entry if qtype == "ANY" or t.upper() == qtype]
            if types:
                for t in types:
                    value = entry[t]
                    if isinstance(value, str) and value.upper() in _ACTIONS:
                        return self._action(value), answers
                    answers += [self._rr(name, t.upper(), v) for v in self._values(value)]
                return "NOERROR", answers
            cname = next((entry[t] for t in entry if t.upper() == "CNAME"), None)
            if cname is None:
                return "NOERROR", answers
            target = self._values(cname)[0]
            answers.append(self._rr(name, "CNAME", target))
            name = _norm(target)
        return "SERVFAIL", answers

    def _resolve(self, request, handler):
        proto = handler.protocol
        qname = _norm(request.q.qname)
        qtype = dnslib.QTYPE[request.q.qtype]
        with self._cond:
            self.queries.append((qname, qtype))
            self.query_log.append((qname, qtype, proto))
            self._cond.notify_all()
            key = (handler.client_address, request.header.id)
            if proto == "udp" and (qname in self._holding or key in self._held_ids):
                self._held.append((qname, request, handler.request[1], handler.client_address))
                self._held_ids.add(key)
                raise _Drop("held")
            if proto == "udp" and self.udp_truncate:
                reply = request.reply()
                reply.header.ra = 1
                reply.header.tc = 1
                return reply
        return self._reply(request)

    def _reply(self, request):
        qname = _norm(request.q.qname)
        qtype = dnslib.QTYPE[request.q.qtype]
        reply = request.reply()
        reply.header.ra = 1
        with self._cond:
            rcode, answers = self._answer(qname, qtype)
        if rcode == "DROP":
            raise _Drop("drop")
        for rr in answers:
            reply.add_answer(rr)
        reply.header.rcode = getattr(dnslib.RCODE, rcode)
        if rcode in ("NXDOMAIN", "NOERROR") and not any(rr.rtype == request.q.qtype for rr in answers):
            apex = _fqdn(qname.rsplit(".", 1)[-1]) if qname else "."
            reply.add_auth(dnslib.RR(apex, dnslib.QTYPE.SOA, ttl=self.ttl, rdata=dnslib.SOA(
                "ns." + apex.lstrip("."), "hostmaster." + apex.lstrip("."), (1, 3600, 600, 86400, self.ttl))))
        return reply

    # -- server ---------------------------------------------------------------
    def _bind(self, port):
        udp = dnslib.server.UDPServer((LOOPBACK, port), dnslib.server.DNSHandler)
        try:
            tcp = dnslib.server.TCPServer((LOOPBACK, udp.server_address[1]), dnslib.server.DNSHandler)
        except OSError:
            udp.server_close()
            raise
        return udp, tcp

    def start(self):
        if self._thread is not None:
            return self
        for attempt in range(20):
            try:
                udp, tcp = self._bind(self.port)
                break
            except OSError:
                if self.port or attempt == 19:
                    raise
        self.port = udp.server_address[1]
        for srv in (udp, tcp):
            srv.resolver = _Resolver(self)
            srv.logger = _QuietLogger(self.errors)
        self._servers = [udp, tcp]
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name=f"dns-{self.port}", daemon=True)
        self._thread.start()
        return self

    def _serve(self):
        with selectors.DefaultSelector() as sel:
            for srv in self._servers:
                sel.register(srv.socket, selectors.EVENT_READ, srv)
            sel.register(self._wake[0], selectors.EVENT_READ, None)
            while True:
                for key, _ in sel.select():
                    if key.data is None:
                        return
                    key.data._handle_request_noblock()

    def stop(self):
        """Stop answering and free the port (start() binds it again)."""
        if self._thread is None:
            return
        self._wake[1].send(b"x")
        self._thread.join()
        self._thread = None
        for srv in self._servers:
            srv.server_close()
        for s in self._wake:
            s.close()
        self._servers = []

    def wait_query(self, name, qtype=None, timeout=DEFAULT_TIMEOUT):
        """Block until `name` (and `qtype`, if given) has been asked."""
        name = _norm(name)

        def seen():
            return any(n == name and (qtype is None or t == qtype) for n, t in self.queries)
        with self._cond:
            _wait(self._cond, seen, timeout, f"a query for {name} {qtype or ''}",
                  lambda: f"queries so far: {self.queries}")

    def hold(self, name):
        """Hold the answers to UDP queries for `name` from now on."""
        with self._cond:
            self._holding.add(_norm(name))

    def stop_holding(self, name):
        """Answer new queries for `name` at once again; the held stay held."""
        with self._cond:
            self._holding.discard(_norm(name))

    def release(self, name):
        """Send the held answers for `name` (the zone's now) and stop holding it."""
        name = _norm(name)
        with self._cond:
            self._holding.discard(name)
            held = [h for h in self._held if h[0] == name]
            self._held = [h for h in self._held if h[0] != name]
            for _, request, _, client in held:
                self._held_ids.discard((client, request.header.id))
        for _, request, sock, client in held:
            try:
                sock.sendto(self._reply(request).pack(), client)
            except _Drop:
                pass

    def wait_held(self, name, count=1, timeout=DEFAULT_TIMEOUT):
        """Block until `count` queries for `name` are held."""
        name = _norm(name)
        with self._cond:
            _wait(self._cond, lambda: sum(h[0] == name for h in self._held) >= count, timeout,
                  f"{count} held queries for {name}", lambda: f"queries so far: {self.queries}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# -- SMTP receiver -----------------------------------------------------------------

class Message:
    """One mail transaction that reached the end of DATA."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return (f"<Message from={self.mail_from!r} to={self.rcpt_tos!r} {len(self.data)} bytes "
                f"tls={self.tls} helo={self.helo!r} reply={self.reply!r}>")


class SessionRecord:
    """One SMTP connection: `transcript` is [("C", command) | ("S", reply)]
    in order (DATA content not included); `pipelined` is true when a command
    arrived while the reply to an earlier one was still unsent."""

    def __init__(self, id, peer):
        self.id = id
        self.peer = peer
        self.transcript = []
        self.helo = None
        self.esmtp = False
        self.tls = False
        self.pipelined = False
        self.quit = False
        self.dropped = False
        self.stalled = False
        self.closed = False

    @property
    def commands(self):
        return [line for side, line in self.transcript if side == "C"]

    def __repr__(self):
        return (f"<Session {self.id} peer={self.peer} helo={self.helo!r} tls={self.tls} "
                f"closed={self.closed} transcript={self.transcript[-20:]!r}>")


def _count_matches(spec, n):
    """drop_in_data-style spec: True = always, False/None/0 = never, int N =
    the first N."""
    if spec is True:
        return True
    if not spec:
        return False
    return n <= spec


class _Handler:
    def __init__(self, rec):
        self.rec = rec

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        rec = self.rec
        hidden = () if rec.auth_users is not None else ("AUTH",)
        if not rec.smtputf8:
            hidden += ("SMTPUTF8",)
        out = [r for r in responses[:-1] if not r[4:].upper().startswith(hidden)]
        if rec.pipelining:
            out.append("250-PIPELINING")
        out += [f"250-{k}" for k in rec.extra_ehlo]
        out.append(responses[-1])
        server._note_helo(hostname, True)
        return out

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        server._note_helo(hostname, False)
        return f"250 {server.hostname}"

    async def handle_MAIL(self, server, session, envelope, address, options):
        rec = self.rec
        reply = rec.mail_reply(address) if callable(rec.mail_reply) else rec.mail_reply
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        with rec._cond:
            rec.transactions += 1
            rec._cond.notify_all()
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, options):
        rec = self.rec
        if callable(rec.rcpt_reply):
            reply = rec.rcpt_reply(address)
        else:
            reply = {k.lower(): v for k, v in (rec.rcpt_reply or {}).items()}.get(address.lower())
        if reply:
            with rec._cond:
                rec.rejected_rcpts.append((address, reply))
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        rec = self.rec
        attempt = server._attempt
        if not rec._gate.is_set():
            with rec._cond:
                rec.waiting_at_gate += 1
                rec.max_at_gate = max(rec.max_at_gate, rec.waiting_at_gate)
                rec._cond.notify_all()
            try:
                await rec._gate.wait()
            finally:
                with rec._cond:
                    rec.waiting_at_gate -= 1
                    rec._cond.notify_all()
        reply = rec.data_reply(attempt) if callable(rec.data_reply) else rec.data_reply
        srec = server._srec
        with rec._cond:
            msg = Message(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
                          data=bytes(envelope.original_content), tls=session.ssl is not None,
                          peer=session.peer, helo=session.host_name, esmtp=session.extended_smtp,
                          mail_options=list(envelope.mail_options), rcpt_options=list(envelope.rcpt_options),
                          session=srec.id, attempt=attempt, reply=None,
                          auth_login=session.auth_data.login.decode() if session.authenticated else None)
            if not reply:
                reply = f"250 2.0.0 Ok: queued as M{len(rec.messages) + 1}"
            msg.reply = reply
            (rec.messages if reply.startswith("2") else rec.rejected).append(msg)
            rec._cond.notify_all()
        return reply


class _SMTP(SMTP):
    """aiosmtpd's server with the receiver's hooks: connection accounting, a
    programmable greeting, EHLO refusal, and drop/stall after the 354."""

    def __init__(self, rec, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rec = rec
        self._srec = None
        self._attempt = 0
        self._greeting_override = None
        for name, method in list(self._smtp_methods.items()):
            self._smtp_methods[name] = self._recorded(name, method)

    def _getparams(self, params):
        # With "DSN" among extra_ehlo, the RFC 3461 parameters are accepted
        # (and recorded in mail_options / rcpt_options, uppercased).
        result = super()._getparams(params)
        if result is not None and "DSN" in self._rec.extra_ehlo:
            for name in ("RET", "ENVID", "NOTIFY", "ORCPT"):
                result.pop(name, None)
        return result

    def _recorded(self, name, method):
        async def run(arg):
            srec = self._srec
            if srec is not None:
                with self._rec._cond:
                    srec.transcript.append(("C", name if arg is None else f"{name} {arg}"))
                    if self._reader._buffer:
                        srec.pipelined = True
                    if self._tls_protocol is not None:
                        srec.tls = True
                    if name == "QUIT":
                        srec.quit = True
            await method(arg)
        return run

    async def smtp_EHLO(self, hostname):
        if not self._rec.ehlo:
            await self.push(self._rec.ehlo_reply)
            return
        await super().smtp_EHLO(hostname)

    def _note_helo(self, hostname, esmtp):
        with self._rec._cond:
            self._srec.helo = hostname
            self._srec.esmtp = esmtp

    async def push(self, status):
        if self._greeting_override is not None:
            status, self._greeting_override = self._greeting_override, None
        if self._srec is not None:
            with self._rec._cond:
                self._srec.transcript.append(("S", status))
        await super().push(status)
        if isinstance(status, str) and status.startswith("354"):
            await self._after_354()

    async def _after_354(self):
        rec = self._rec
        with rec._cond:
            rec.data_attempts += 1
            self._attempt = n = rec.data_attempts
            rec._cond.notify_all()
        if _count_matches(rec.drop_in_data, n):
            try:
                await asyncio.wait_for(self._reader.readuntil(b"\n"), 5)
            except Exception:
                pass
            with rec._cond:
                self._srec.dropped = True
            (self._original_transport or self.transport).abort()
            raise asyncio.CancelledError()
        if rec.stall_in_data_seconds and _count_matches(rec.stall_in_data, n):
            with rec._cond:
                self._srec.stalled = True
            await asyncio.sleep(rec.stall_in_data_seconds)

    async def _handle_client(self):
        rec = self._rec
        if rec._starting:  # aiosmtpd's own start-up probe: not a session
            self.transport.close()
            return
        self._srec = rec._open_session(self)
        greeting = rec.greeting_reply(self._srec.id) if callable(rec.greeting_reply) else rec.greeting_reply
        if rec.stall_greeting_seconds:
            await asyncio.sleep(rec.stall_greeting_seconds)
        if greeting and not greeting.startswith("2"):
            await self._refuse(greeting)
            return
        self._greeting_override = greeting
        await super()._handle_client()

    async def _refuse(self, greeting):
        await self.push(greeting)
        if greeting.startswith("421"):
            self.transport.close()
            return
        # RFC 5321 3.1: after a 554 greeting wait for QUIT, 503 to the rest
        while self.transport is not None:
            line = await self._reader.readline()
            if not line:
                break
            cmd = line.strip().decode(errors="replace")
            with self._rec._cond:
                self._srec.transcript.append(("C", cmd))
            if cmd.upper() == "QUIT":
                self._srec.quit = True
                await self.push("221 2.0.0 Bye")
                self.transport.close()
                break
            await self.push("503 5.5.1 Error: no valid greeting")

    def connection_lost(self, error):
        if self._srec is not None:
            self._rec._close_session(self._srec)
        super().connection_lost(error)


class _Controller(Controller):
    def __init__(self, rec, *args, **kwargs):
        self._rec = rec
        super().__init__(*args, **kwargs)

    def factory(self):
        return _SMTP(self._rec, self.handler, **self.SMTP_kwargs)

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpReceiver:
    """A real SMTP server (aiosmtpd in a thread) on a free 127.0.0.1 port that
    records everything and answers as programmed.

    Replies (a reply is a full SMTP reply string such as "451 4.3.0 try
    later"; a multi-line one has "\\r\\n"-joined lines):
      greeting_reply: str, or callable(connection_number) -> str or None.
          A non-2xx greeting refuses the session ("421 ..." then close; any
          other code then waits for QUIT and answers 503 to the rest); a 2xx
          one replaces the normal "220" banner. Connections count from 1.
      ehlo=False: EHLO is answered "502 5.5.2 Error: command not recognized"
          (ehlo_reply overrides), so the client must fall back to HELO.
      mail_reply: str, or callable(sender) -> str or None.
      rcpt_reply: {address: reply} (case-insensitive), or callable(address)
          -> str or None; a rejected recipient is not in the transaction.
      data_reply: str, or callable(attempt) -> str or None (None = accept
          with "250 2.0.0 Ok: queued as M<n>"; a 2xx reply accepts too).
          attempt counts the DATA commands answered 354, from 1, over the
          receiver's life (dropped and stalled attempts included).
      drop_in_data: True (every time) or N (the first N DATA attempts): after
          the 354 read one line of content and close the connection at once,
          without a reply.
      stall_in_data_seconds (with stall_in_data: True or N first attempts):
          after the 354 read nothing and answer nothing for that long, then
          carry on normally (a client that gave up has closed by then).
      stall_greeting_seconds: wait that long before the greeting.
      hold() / release(): while held, the final reply to DATA waits (for
          deterministic concurrency tests: see wait_concurrent and
          waiting_at_gate).
    Extensions: pipelining (advertise PIPELINING, default True), tls (make a
    certificate, see tls_files(), and offer STARTTLS), starttls (offer it:
    default = tls), require_starttls (530 before STARTTLS), cert_names,
    smtputf8 (advertise SMTPUTF8), size_limit (SIZE), extra_ehlo (keywords
    advertised but not implemented, e.g. ["DSN"]), hostname (in the banner),
    host (the address it listens on: 127.0.0.1, or "::1" for IPv6).
    AUTH: auth_users ({username: password}) offers AUTH (aiosmtpd's PLAIN and
    LOGIN, auth_mechanisms to offer fewer), after STARTTLS only unless
    auth_require_tls=False, and then refuses MAIL before a login (530); a
    wrong login gets "535 5.7.8 Authentication credentials invalid". Each
    login tried is in auth_attempts [(mechanism, username, password)].

    The reply settings are plain attributes, read at each use: a test may
    change them while the receiver runs.

    Records (read them after the client is done, or under wait_*):
      messages: accepted Messages: mail_from, rcpt_tos, data (bytes exactly as
          received after dot-unstuffing, CRLF line ends), tls, peer, helo,
          esmtp, mail_options, rcpt_options, session (id), attempt, reply,
          auth_login (the username it logged in with, or None).
      rejected: Messages whose DATA got a non-2xx data_reply.
      rejected_rcpts: [(address, reply)].
      sessions: SessionRecords (transcript, commands, helo, tls, pipelined,
          quit, dropped, stalled, closed); connections (count), active (open
          now), max_concurrent (peak), transactions (MAIL commands accepted),
          data_attempts (354s sent), waiting_at_gate.
    Methods: wait_messages(n), wait_connections(n), wait_concurrent(n),
    wait_idle(), wait_for(predicate, what) - all with timeout and wake-ups,
    no polling; start(), stop() (closes open sessions; start() again binds
    the same port), reset(); context manager; port, address, ca_file."""

    def __init__(self, *, greeting_reply=None, ehlo=True, ehlo_reply="502 5.5.2 Error: command not recognized",
                 mail_reply=None, rcpt_reply=None, data_reply=None, drop_in_data=False, stall_in_data_seconds=0,
                 stall_in_data=True, stall_greeting_seconds=0, pipelining=True, tls=False, starttls=None,
                 require_starttls=False, cert_names=DEFAULT_CERT_NAMES, smtputf8=False, size_limit=33554432,
                 extra_ehlo=(), hostname="mx1.example.test", port=0, timeout=300, start=True, host=LOOPBACK,
                 auth_users=None, auth_require_tls=True, auth_mechanisms=("PLAIN", "LOGIN")):
        self.host = host
        self.auth_users = auth_users
        self.auth_require_tls = auth_require_tls
        self.auth_mechanisms = tuple(m.upper() for m in auth_mechanisms)
        self.greeting_reply = greeting_reply
        self.ehlo = ehlo
        self.ehlo_reply = ehlo_reply
        self.mail_reply = mail_reply
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.drop_in_data = drop_in_data
        self.stall_in_data_seconds = stall_in_data_seconds
        self.stall_in_data = stall_in_data
        self.stall_greeting_seconds = stall_greeting_seconds
        self.pipelining = pipelining
        self.starttls = tls if starttls is None else starttls
        self.tls = tls or self.starttls
        self.require_starttls = require_starttls
        self.smtputf8 = smtputf8
        self.size_limit = size_limit
        self.extra_ehlo = list(extra_ehlo)
        self.hostname = hostname
        self.port = port
        self.timeout = timeout
        self.tls_files = tls_files(cert_names) if self.tls else None
        self.ca_file = self.tls_files.ca_file if self.tls else None
        self._cond = threading.Condition()
        self._controller = None
        self._starting = False
        self._protocols = set()
        self.reset()
        if start:
            self.start()

    @property
    def address(self):
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def reset(self):
        """Forget everything recorded (counters too)."""
        with self._cond:
            self.messages = []
            self.rejected = []
            self.rejected_rcpts = []
            self.sessions = []
            self.connections = 0
            self.active = 0
            self.max_concurrent = 0
            self.max_at_gate = 0
            self.transactions = 0
            self.data_attempts = 0
            self.waiting_at_gate = 0
            self.auth_attempts = []

    # -- server ---------------------------------------------------------------
    def start(self):
        if self._controller is not None:
            return self
        ctx = None
        if self.starttls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.tls_files.cert_file, self.tls_files.key_file)
        kwargs = dict(hostname=self.host, port=self.port, server_hostname=self.hostname,
                      enable_SMTPUTF8=self.smtputf8, data_size_limit=self.size_limit, timeout=self.timeout)
        if ctx is not None:
            kwargs.update(tls_context=ctx, require_starttls=self.require_starttls)
        if self.auth_users is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.auth_require_tls,
                          auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m not in self.auth_mechanisms])
        controller = _Controller(self, _Handler(self), **kwargs)
        self._gate = asyncio.Event()
        self._gate.set()
        self._starting = True
        try:
            controller.start()
        finally:
            self._starting = False
        self.port = controller.port
        self._controller = controller
        return self

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        with self._cond:
            self.auth_attempts.append((mechanism, user, password))
            self._cond.notify_all()
        return AuthResult(success=self.auth_users.get(user) == password, handled=False, auth_data=auth_data)

    def _in_loop(self, fn):
        async def run():
            fn()
        asyncio.run_coroutine_threadsafe(run(), self._controller.loop).result(DEFAULT_TIMEOUT)

    def stop(self):
        """Close every open session abruptly and stop listening."""
        if self._controller is None:
            return

        def abort_all():
            for proto in list(self._protocols):
                transport = proto._original_transport or proto.transport
                if transport is not None:
                    transport.abort()
        self._in_loop(abort_all)
        self._controller.stop()
        self._controller = None
        with self._cond:
            for srec in self.sessions:
                if not srec.closed:
                    srec.closed = True
                    self.active -= 1
            self._protocols = set()
            self._cond.notify_all()

    def hold(self):
        """From now on the final reply to DATA waits until release()."""
        self._in_loop(self._gate.clear)

    def release(self):
        self._in_loop(self._gate.set)

    # -- accounting (called in the server thread) --------------------------------
    def _open_session(self, proto):
        with self._cond:
            self.connections += 1
            self.active += 1
            self.max_concurrent = max(self.max_concurrent, self.active)
            srec = SessionRecord(self.connections, proto.session.peer)
            self.sessions.append(srec)
            self._protocols.add(proto)
            self._cond.notify_all()
            return srec

    def _close_session(self, srec):
        with self._cond:
            if srec.closed:
                return
            srec.closed = True
            self.active -= 1
            self._protocols = {p for p in self._protocols if p._srec is not srec}
            self._cond.notify_all()

    # -- waiting ------------------------------------------------------------------
    def describe(self):
        return (f"SmtpReceiver port {self.port}: {self.connections} connections ({self.active} open, peak "
                f"{self.max_concurrent}), {self.transactions} transactions, {self.data_attempts} DATA, "
                f"{len(self.messages)} accepted, {len(self.rejected)} rejected; last sessions: "
                f"{self.sessions[-3:]!r}")

    def wait_for(self, predicate, what="condition", timeout=DEFAULT_TIMEOUT):
        with self._cond:
            _wait(self._cond, predicate, timeout, what, self.describe)

    def wait_messages(self, n, timeout=DEFAULT_TIMEOUT):
        """Block until n messages were accepted; return them all."""
        self.wait_for(lambda: len(self.messages) >= n, f"{n} accepted messages", timeout)
        with self._cond:
            return list(self.messages)

    def wait_connections(self, n, timeout=DEFAULT_TIMEOUT):
        self.wait_for(lambda: self.connections >= n, f"{n} connections", timeout)

    def wait_concurrent(self, n, timeout=DEFAULT_TIMEOUT):
        """Block until n sessions are open at the same time."""
        self.wait_for(lambda: self.active >= n, f"{n} concurrent sessions", timeout)

    def wait_idle(self, timeout=DEFAULT_TIMEOUT):
        """Block until every session has closed."""
        self.wait_for(lambda: self.active == 0, "all sessions to close", timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# -- smtp-sink -------------------------------------------------------------------

class SinkMessage:
    """A message smtp-sink dumped: data has LF line ends (smtp-sink drops
    every CR) and is dot-unstuffed; mail_from/rcpt_tos are the addresses
    without their ESMTP parameters."""

    def __init__(self, raw):
        self.raw = raw
        self.client_addr = self.helo = self.mail_from = None
        self.rcpt_tos = []
        lines = self.raw.split(b"\n")
        i = 0
        while i < len(lines) and not lines[i].startswith(b"Received: "):
            key, _, value = lines[i].decode(errors="replace").partition(": ")
            if key == "X-Client-Addr":
                self.client_addr = value
            elif key == "X-Helo-Args":
                self.helo = value
            elif key == "X-Mail-Args":
                self.mail_from = value.split()[0].strip("<>") if value.split() else ""
            elif key == "X-Rcpt-Args":
                self.rcpt_tos.append(value.split()[0].strip("<>"))
            i += 1
        data = b"\n".join(lines[i + 3:])
        # the final ".\r\n" leaves one "\n" behind
        self.data = data[:-1] if data.endswith(b"\n") else data

    def __repr__(self):
        return f"<SinkMessage from={self.mail_from!r} to={self.rcpt_tos!r} {len(self.data)} bytes>"


_STATS = re.compile(r"sess=(\d+) quit=(\d+) mesg=(\d+)")
_SINK_SEPARATOR = b"\001kurir-e2e-sink-message\n"


class SmtpSink:
    """Postfix's /usr/sbin/smtp-sink on a free 127.0.0.1 port, run with -c
    (counters) and -v (conversation log), which a reader thread parses.

    args: more smtp-sink options, e.g. "-p" (no PIPELINING), "-r", "RCPT"
    (4xx to RCPT), "-f", "." (5xx after DATA), "-w", "3" (delay DATA), "-q",
    "DATA" (hang up after DATA). dump=True adds -d so messages() can return
    what was received. user: run as this user (required by smtp-sink as
    root; default "nobody" when root, nothing otherwise).

    count(): messages that reached the final "." (smtp-sink counts them even
    when told to reject the "."). connections / max_concurrent / active: from
    the -v "connect" lines and the session counter (smtp-sink's own start-up
    probe excluded). wait_count(n), wait_connections(n), wait_idle(),
    messages() -> [SinkMessage], output (its log), stop(), context manager."""

    def __init__(self, *args, dump=True, user=None, hostname="sink.example.test", backlog=64, port=0, start=True):
        self.args = list(args)
        self.dump = dump
        self.user = user if user is not None else ("nobody" if os.geteuid() == 0 else None)
        self.hostname = hostname
        self.backlog = backlog
        self.port = port or None
        self.proc = None
        self.tmp = None
        self.output = []
        self._cond = threading.Condition()
        if start:
            self.start()

    @property
    def address(self):
        return f"{LOOPBACK}:{self.port}"

    def start(self):
        if self.proc is not None:
            return self
        self.tmp = tempfile.mkdtemp(prefix="kurir-e2e-sink-")
        os.chmod(self.tmp, 0o755)
        self.dump_dir = os.path.join(self.tmp, "dump")
        os.mkdir(self.dump_dir)
        if self.user is not None and os.geteuid() == 0:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dump_dir, pw.pw_uid, pw.pw_gid)
        errors = []
        for _ in range(5):
            port = self.port or free_port()
            if self._launch(port):
                return self
            errors.append("".join(self.output[-5:]))
            if self.port:
                break
        raise RuntimeError(f"smtp-sink did not start: {errors}")

    def _launch(self, port):
        with self._cond:
            self._stats = (0, 0, 0)
            self._connects = 0
            self._base = None
            self.max_concurrent = 0
            self._eof = False
        cmd = [SMTP_SINK, "-c", "-v", "-h", self.hostname]
        if self.user is not None:
            cmd += ["-u", self.user]
        if self.dump:
            cmd += ["-D", os.path.join(self.dump_dir, "all"),
                    "-S", _SINK_SEPARATOR.decode().replace("\001", "\\001").replace("\n", "\\n")]
        cmd += self.args + [f"{LOOPBACK}:{port}", str(self.backlog)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        # smtp-sink says nothing once it listens, so probe with a real session
        # (the only retry loop here: there is no event to wait on), then count
        # from the probe's end.
        deadline = time.monotonic() + DEFAULT_TIMEOUT
        while True:
            try:
                with socket.create_connection((LOOPBACK, port), timeout=DEFAULT_TIMEOUT) as s:
                    f = s.makefile("rb")
                    banner = f.readline()
                    if not banner.startswith(b"220 " + self.hostname.encode()):
                        self.output.append(f"port {port} answered {banner!r}, not our smtp-sink")
                        self._reap()  # someone else's port: ours failed to bind
                        return False
                    s.sendall(b"QUIT\r\n")
                    f.readline()
                break
            except (ConnectionRefusedError, ConnectionResetError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self._reap()
                    return False
                time.sleep(0.01)
        with self._cond:
            if not self._cond.wait_for(lambda: self._stats[0] >= 1 or self._eof, DEFAULT_TIMEOUT) \
                    or self._eof:
                self._reap()
                return False
            self._base = (self._stats, self._connects)
        self.port = port
        return True

    def _read(self, proc):
        buf = b""
        while True:
            chunk = proc.stdout.read1(65536)
            if not chunk:
                break
            buf += chunk
            *lines, buf = re.split(rb"[\r\n]", buf)
            with self._cond:
                for raw in lines:
                    line = raw.decode(errors="replace")
                    if not line:
                        continue
                    self.output.append(line)
                    m = _STATS.fullmatch(line)
                    if m:
                        self._stats = tuple(int(x) for x in m.groups())
                    elif ": connect (" in line:
                        self._connects += 1
                    if self._base is not None:
                        self.max_concurrent = max(self.max_concurrent, self.active)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _reap(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
            self.proc.wait(DEFAULT_TIMEOUT)
            self._reader.join(DEFAULT_TIMEOUT)
            self.proc.stdout.close()
            self.proc = None

    def stop(self):
        self._reap()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    # -- counters -----------------------------------------------------------------
    def _since_base(self, index):
        base = self._base[0][index] if self._base else 0
        return self._stats[index] - base

    def count(self):
        """Messages received (final "." seen)."""
        with self._cond:
            return self._since_base(2)

    @property
    def connections(self):
        with self._cond:
            return self._connects - (self._base[1] if self._base else 0)

    @property
    def sessions_ended(self):
        with self._cond:
            return self._since_base(0)

    @property
    def active(self):
        with self._cond:
            return self._connects - self._stats[0]

    def describe(self):
        return (f"smtp-sink port {self.port}: {self.count()} messages, {self.connections} connections "
                f"({self.active} open); last output: {self.output[-10:]!r}")

    def _wait(self, predicate, what, timeout):
        with self._cond:
            _wait(self._cond, lambda: predicate() or self._eof, timeout, what, self.describe)
            if not predicate():
                raise AssertionError(f"smtp-sink exited while waiting for {what}; {self.describe()}")

    def wait_count(self, n, timeout=DEFAULT_TIMEOUT):
        self._wait(lambda: self._since_base(2) >= n, f"{n} messages", timeout)
        return self.count()

    def wait_connections(self, n, timeout=DEFAULT_TIMEOUT):
        self._wait(lambda: self._connects - self._base[1] >= n, f"{n} connections", timeout)

    def wait_idle(self, timeout=DEFAULT_TIMEOUT):
        self._wait(lambda: self._connects == self._stats[0], "all sessions to end", timeout)

    def messages(self):
        """The messages received, in the order they ended (needs dump=True;
        read them before stop(), which removes the dump)."""
        try:
            with open(os.path.join(self.dump_dir, "all"), "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return []
        return [SinkMessage(m) for m in raw.split(_SINK_SEPARATOR)[1:]]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# -- a real Postfix --------------------------------------------------------------

POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"
_POSTFIX_SERVICES = """\
{port:<9} inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_usable():
    """A private Postfix instance needs root (its master) and Debian's postfix."""
    return os.geteuid() == 0 and os.path.exists(POSTFIX_MASTER)


class PostfixInstance:
    """Debian's Postfix run from a private configuration directory (its
    master started with -c, no system configuration touched) on a free
    loopback port. Mail to sink@pf.test is appended to `mbox_path` (an
    alias to a file); `transport` maps domains to nexthops, e.g.
    {"to-kurir.test": "smtp:[127.0.0.1]:2525"}; `main_cf` adds parameters."""

    def __init__(self, transport=None, main_cf=None):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="kurir-postfix-")
        os.chmod(self.dir, 0o755)
        conf, queue, data, out = (os.path.join(self.dir, d) for d in ("conf", "queue", "data", "out"))
        for d in (conf, data, out):
            os.mkdir(d)
        os.chmod(out, 0o777)
        shutil.chown(data, "postfix")
        self.conf = conf
        self.queue = queue
        self.mbox_path = os.path.join(out, "mbox")
        self.log_path = os.path.join(self.dir, "maillog")
        os.mkdir(queue, 0o755)
        for d in ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private",
                  "saved", "trace"):
            os.mkdir(os.path.join(queue, d), 0o700)
            shutil.chown(os.path.join(queue, d), "postfix")
        os.mkdir(os.path.join(queue, "pid"), 0o755)
        for d, mode in (("maildrop", 0o730), ("public", 0o710)):
            os.mkdir(os.path.join(queue, d))
            shutil.chown(os.path.join(queue, d), "postfix", "postdrop")
            os.chmod(os.path.join(queue, d), mode)
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = pf.test
mydestination = pf.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps = hash:{conf}/aliases
alias_database = hash:{conf}/aliases
local_recipient_maps =
transport_maps = hash:{conf}/transport
maillog_file = {self.log_path}
maillog_file_prefixes = {self.dir}
biff = no
""")
            for name, value in (main_cf or {}).items():
                f.write(f"{name} = {value}\n")
        with open(os.path.join(conf, "master.cf"), "w") as f:
            f.write(_POSTFIX_SERVICES.format(port=self.port))
        with open(os.path.join(conf, "aliases"), "w") as f:
            f.write(f"sink: {self.mbox_path}\n")
        with open(os.path.join(conf, "transport"), "w") as f:
            for domain, nexthop in (transport or {}).items():
                f.write(f"{domain} {nexthop}\n")
        for tool, src in (("postalias", "aliases"), ("postmap", "transport")):
            subprocess.run([f"/usr/sbin/{tool}", "-c", conf, os.path.join(conf, src)], check=True)
        subprocess.run([POSTFIX_MASTER, "-c", conf, "-w"], check=True)
        _wait_port(self.port)

    def log(self):
        return _read_log(self.log_path)

    def stop(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                os.kill(int(f.read().split()[0]), 15)
        except (OSError, ValueError):
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _port_open(self.port):
            time.sleep(0.05)  # master exits after its children: no event to wait on
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _read_log(path):
    """A peer's log so far ("" before it wrote one)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _port_open(port):
    with socket.socket() as s:
        return s.connect_ex((LOOPBACK, port)) == 0


def _wait_port(port, timeout=DEFAULT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not _port_open(port):
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on port {port}")
        time.sleep(0.02)


# -- a real Dovecot ----------------------------------------------------------------

DOVECOT = "/usr/sbin/dovecot"

_DOVECOT_CONF = """\
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
instance_name = kurir-e2e-{name}
protocols = {protocols}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {tmp}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={tmp}/home/%u
}}
"""

_DOVECOT_AUTH_SOCKET = """\
service auth {{
  unix_listener {socket} {{
    mode = 0660
    user = {user}
    group = {group}
  }}
}}
"""

_DOVECOT_LISTENERS = """\
service {proto}-login {{
  inet_listener {proto} {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener {proto}s {{
    port = 0
  }}
}}
"""


_DOVECOT_LMTP = """\
service lmtp {{
{listeners}}}
"""


def dovecot_usable():
    """Dovecot's master must run as root (it switches to each mail user)."""
    return os.geteuid() == 0 and os.path.exists(DOVECOT)


class Dovecot:
    """Debian's Dovecot run as root from a dovecot.conf of its own in its own
    temporary directory (base_dir, state_dir, log, users: never the
    system's), plaintext auth on loopback without TLS.

    users: {name: password} in a passwd-file passdb; the static userdb gives
    every user `uid`/`gid` and a home of its own in the temporary directory.
    auth_socket=(path, owner): an auth-protocol listener (mode 0660, user and
    group `owner`) for smtpd's SASL. imap=True / pop3=True: listeners on free
    127.0.0.1 ports (`imap_port`, `pop3_port`). mail_location and `extra`
    (more dovecot.conf lines) as Dovecot reads them; "~" there is the user's
    home. lmtp_socket=PATH: an LMTP listener there (mode 0666, as a
    mail system's socket); lmtp_inet=True: one on a free 127.0.0.1 port
    (`lmtp_port`). Stopped by its pid: stop(), or as a context manager."""

    def __init__(self, users, *, uid=65534, gid=65534, auth_socket=None, imap=False, pop3=False,
                 mail_location=None, extra="", start=True, lmtp_socket=None, lmtp_inet=False):
        self.users = dict(users)
        self.uid, self.gid = uid, gid
        self.auth_socket = auth_socket
        self.protocols = [p for p, on in (("imap", imap), ("pop3", pop3)) if on]
        self.lmtp_socket, self.lmtp_inet, self.lmtp_port = lmtp_socket, lmtp_inet, None
        self.mail_location = mail_location
        self.extra = extra
        self.imap_port = self.pop3_port = None
        self.proc = None
        self.tmp = tempfile.mkdtemp(prefix="kurir-e2e-dovecot-")
        os.chmod(self.tmp, 0o755)
        self.conf = os.path.join(self.tmp, "dovecot.conf")
        self.log_path = os.path.join(self.tmp, "dovecot.log")
        for d in ("run", "state", "home"):
            os.mkdir(os.path.join(self.tmp, d))
        for name in self.users:
            home = os.path.join(self.tmp, "home", name)
            os.mkdir(home, 0o700)
            os.chown(home, uid, gid)
        with open(os.path.join(self.tmp, "users"), "w") as f:
            for name, password in self.users.items():
                f.write(f"{name}:{{PLAIN}}{password}::::::\n")
        if start:
            self.start()

    def _write_conf(self):
        lmtp = self.lmtp_socket or self.lmtp_inet
        text = _DOVECOT_CONF.format(tmp=self.tmp, name=os.path.basename(self.tmp), uid=self.uid, gid=self.gid,
                                    protocols=" ".join(self.protocols + (["lmtp"] if lmtp else [])))
        if lmtp:
            listeners = ""
            if self.lmtp_socket:
                listeners += f"  unix_listener {self.lmtp_socket} {{\n    mode = 0666\n  }}\n"
            if self.lmtp_inet:
                listeners += f"  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {self.lmtp_port}\n  }}\n"
            text += _DOVECOT_LMTP.format(listeners=listeners)
        if self.auth_socket:
            path, owner = self.auth_socket
            text += _DOVECOT_AUTH_SOCKET.format(socket=path, user=owner, group=owner)
        for proto in self.protocols:
            text += _DOVECOT_LISTENERS.format(proto=proto, port=getattr(self, f"{proto}_port"))
        if self.mail_location:
            text += f"mail_location = {self.mail_location}\n"
        text += self.extra
        with open(self.conf, "w") as f:
            f.write(text)

    def _ready(self):
        if self.auth_socket and not os.path.exists(self.auth_socket[0]):
            return False
        if self.lmtp_socket and not os.path.exists(self.lmtp_socket):
            return False
        if self.lmtp_inet and not _port_open(self.lmtp_port):
            return False
        return all(_port_open(getattr(self, f"{p}_port")) for p in self.protocols)

    def start(self):
        """Starts it and waits until every listener answers; a port taken
        meanwhile by someone else gives new ports and another try."""
        errors = []
        for _ in range(5):
            for proto in self.protocols:
                setattr(self, f"{proto}_port", free_port())
            if self.lmtp_inet:
                self.lmtp_port = free_port()
            self._write_conf()
            self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 30
            while self.proc.poll() is None and not self._ready() and time.monotonic() < deadline:
                time.sleep(0.02)  # nothing to wait on but the socket and the ports
            if self.proc.poll() is None and self._ready():
                return self
            errors.append(self._reap() + self.log()[-2000:])
        raise RuntimeError(f"dovecot did not start: {errors}")

    def log(self):
        return _read_log(self.log_path)

    def _reap(self):
        """Stops the process this object started (by its pid); its stderr."""
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace")
        self.proc.stderr.close()
        self.proc = None
        return err

    def stop(self):
        self._reap()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
