"""A raw SMTP client for what smtplib will not send: bare CR/LF, NUL bytes,
pipelined bursts, over-long lines, a client that never reads."""
import re
import socket
import threading

from instance import wait_for


class RawSMTP:
    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """One whole (possibly multi-line) reply: (code, text)."""
        lines = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"connection closed; partial reply {lines!r} {self.buf!r}")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode(errors="replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1))


def never_read(inst, sock):
    """The client that never reads, on sock (plain, or TLS after STARTTLS),
    on a fresh instance with a short smtpd_timeout: 20 MB of pipelined EHLOs,
    no reply read. smtpd stops reading once the unread replies pass its
    bound (it read everything and held ~300 MB of replies before), and the
    session ends at smtpd_timeout although its last reply cannot be written
    (it waited for that forever before). Closes sock."""
    burst = b"EHLO client.test\r\n" * (20 * 2**20 // 18)

    def pump():
        try:
            sock.sendall(burst)
        except (OSError, ValueError):
            pass  # the server closed the session

    pumper = threading.Thread(target=pump, daemon=True)
    pumper.start()
    try:
        pid = int(wait_for(lambda: re.search(r"/smtpd\[(\d+)\]: connect from", inst.log()), 30,
                           "smtpd's connect line").group(1))
        wait_for(lambda: "timeout after command" in inst.log() and "disconnect from" in inst.log(), 120,
                 "the session to end at smtpd_timeout")
        assert peak_rss_kb(pid) < 48 * 1024, "smtpd held the replies the client never read"
    finally:
        pumper.join(30)
        sock.close()
