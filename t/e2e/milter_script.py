"""A pymilter (python3-milter) milter for t/e2e/test_milter.py, run as
/usr/bin/python3 milter_script.py PORT BEHAVIOUR RECORD_FILE [SOCKET]: it
listens on 127.0.0.1:PORT (or the Unix socket SOCKET) and behaves as BEHAVIOUR says; what it was given (stages,
macros, headers, body) is appended to RECORD_FILE as JSON lines."""
import json
import os
import sys
import time

import Milter

PORT, BEHAVIOUR, RECORD = int(sys.argv[1]), sys.argv[2], sys.argv[3]
QUIET = BEHAVIOUR.endswith("_quiet")  # bench/bench.py: records nothing
BEHAVIOUR = BEHAVIOUR.removesuffix("_quiet")
REJECT_AT = BEHAVIOUR[len("reject_"):] if BEHAVIOUR.startswith("reject_") else None


def record(**what):
    if QUIET:
        return
    with open(RECORD, "a") as f:
        f.write(json.dumps(what) + "\n")


class TestMilter(Milter.Base):
    def __init__(self):
        self.id = Milter.uniqueID()

    def verdict(self, stage):
        if REJECT_AT == stage:
            return Milter.REJECT
        if BEHAVIOUR == "tempfail_" + stage:
            return Milter.TEMPFAIL
        if BEHAVIOUR == "reply_" + stage:
            self.setreply("554", "5.7.0", "first line", "second line")
            return Milter.REJECT
        if BEHAVIOUR == "accept_" + stage:
            return Milter.ACCEPT
        if BEHAVIOUR == "discard_" + stage:
            return Milter.DISCARD
        if BEHAVIOUR == "die_" + stage:
            os._exit(1)
        if BEHAVIOUR == "hang_" + stage:
            time.sleep(3600)
        return Milter.CONTINUE

    def connect(self, hostname, family, hostaddr):
        record(stage="connect", hostname=hostname, addr=hostaddr[0],
               macros={m: self.getsymval(m) for m in ("j", "{daemon_name}", "_", "v", "{daemon_addr}")})
        return self.verdict("connect")

    def hello(self, heloname):
        record(stage="helo", helo=heloname)
        return self.verdict("helo")

    def envfrom(self, f, *params):
        record(stage="mail", sender=f, params=list(params),
               macros={m: self.getsymval(m) for m in ("{mail_addr}", "{auth_authen}")})
        return self.verdict("mail")

    def envrcpt(self, to, *params):
        record(stage="rcpt", rcpt=to, macros={m: self.getsymval(m) for m in ("{rcpt_addr}",)})
        if BEHAVIOUR == "reject_rcpt_bob" and "bob" in to:
            return Milter.REJECT
        return self.verdict("rcpt")

    def data(self):
        record(stage="data")
        return self.verdict("data")

    def header(self, name, value):
        record(stage="header", name=name, value=value)
        return self.verdict("header")

    def eoh(self):
        record(stage="eoh", macros={m: self.getsymval(m) for m in ("i",)})
        return self.verdict("eoh")

    def body(self, chunk):
        record(stage="body", size=len(chunk), text=chunk.decode("latin-1"))
        if BEHAVIOUR == "skip_body":
            return Milter.SKIP
        return self.verdict("body")

    def eom(self):
        record(stage="eom", macros={m: self.getsymval(m) for m in ("i", "{i}", "{mail_addr}", "j")})
        if BEHAVIOUR == "discard_eom":
            return Milter.DISCARD
        if BEHAVIOUR == "quarantine":
            self.quarantine("held by the test milter")
        if BEHAVIOUR == "edits":
            self.addheader("X-Milter-Added", "yes")
            self.chgheader("Subject", 1, "changed subject")
            self.chgheader("X-Remove-Me", 1, "")
            self.addrcpt("<carol@mx.test>")
            self.delrcpt("<bob@mx.test>")
            self.chgfrom("<new-sender@client.test>")
            self.replacebody(b"the milter's body\r\nsecond line\r\n")
        if BEHAVIOUR == "add_header":
            self.addheader("X-Milter-Added", "yes")
        if BEHAVIOUR == "insert_header":
            self.addheader("X-Inserted", "at index 1", 1)
        if BEHAVIOUR == "positions":  # test_milter_positions.py: each kind of header edit, as Postfix places them
            self.addheader("X-Add-1", "appended")
            self.addheader("X-Ins-0", "inserted at 0", 0)
            self.addheader("X-Ins-1", "inserted at 1", 1)
            self.addheader("X-Ins-3", "inserted at 3", 3)
            self.addheader("X-Ins-99", "inserted at 99", 99)
            self.chgheader("Subject", 0, "changed at index 0")
            self.chgheader("Received", 1, "changed: the client's first")
            self.chgheader("X-Absent", 1, "changed, so appended")
            self.chgheader("X-Remove-Me", 1, "")
            self.chgheader("X-Gone", 1, "")
            self.addheader("X-Add-2", "appended last")
            self.chgheader("X-Ins-0", 1, "changed after its insert")
        if BEHAVIOUR == "progress":
            for _ in range(3):
                self.progress()
            self.addheader("X-Milter-Added", "after progress")
        if BEHAVIOUR == "slow_eom":  # cleanup has answered before this one does
            time.sleep(2)
        if BEHAVIOUR == "crlf_body":  # a stray CR and a NUL inside a line
            self.replacebody(b"a\r.\rMAIL FROM:<x@evil.test>\x00\r\nend\r\n")
        if BEHAVIOUR == "flood_headers":  # 200 KB of header changes (header_size_limit: 100 KB)
            for i in range(200):
                self.chgheader("X-Flood", i + 1, "x" * 1000)
        if BEHAVIOUR == "flood_rcpts":  # 30 recipients (the test's smtpd_recipient_limit: 10)
            for i in range(30):
                self.addrcpt(f"<r{i}@mx.test>")
        if BEHAVIOUR == "huge_body":  # 300 KB of body (the test's message_size_limit: 100 KB)
            for _ in range(300):
                self.replacebody(b"x" * 1000 + b"\r\n")
        if BEHAVIOUR.startswith("add_headers_"):  # N fields "X: 1" (5 bytes each as cleanup counts them)
            for _ in range(int(BEHAVIOUR[len("add_headers_"):])):
                self.addheader("X", "1")
        if BEHAVIOUR.startswith("replace_body_"):  # a line naming it, then N lines of 1,000 bytes, a piece each
            self.replacebody(f"the body of the milter on port {PORT}\r\n".encode())
            for _ in range(int(BEHAVIOUR[len("replace_body_"):])):
                self.replacebody(b"x" * 998 + b"\r\n")
        if BEHAVIOUR in ("huge_body_then_reject", "huge_body_then_die"):  # past the limit, then its own verdict
            for _ in range(300):
                self.replacebody(b"x" * 1000 + b"\r\n")
            if BEHAVIOUR == "huge_body_then_die":
                os._exit(1)
            return Milter.REJECT
        if BEHAVIOUR in ("progress_forever", "edits_forever"):  # a packet every 0.3 s, never a verdict
            while True:
                if BEHAVIOUR == "progress_forever":
                    self.progress()
                else:
                    self.addheader("X-Trickle", "x")
                time.sleep(0.3)
        if BEHAVIOUR == "die_eom_after_edit":
            self.addheader("X-Half-Applied", "yes")
            os._exit(1)
        return self.verdict("eom")

    def unknown(self, cmd):
        record(stage="unknown", command=cmd.decode("latin-1") if isinstance(cmd, bytes) else cmd)
        return self.verdict("unknown")

    def abort(self):
        record(stage="abort")
        return Milter.CONTINUE

    def close(self):
        return Milter.CONTINUE


def main():
    Milter.factory = TestMilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.ADDRCPT | Milter.DELRCPT | Milter.CHGFROM |
                     Milter.CHGBODY | Milter.QUARANTINE)
    if len(sys.argv) > 4:  # a Unix socket that smtpd, under another uid in root mode, may use
        os.umask(0)
        Milter.runmilter("kurir-test", f"unix:{sys.argv[4]}", 600)
    else:
        Milter.runmilter("kurir-test", f"inet:{PORT}@127.0.0.1", 600)


if __name__ == "__main__":
    main()
