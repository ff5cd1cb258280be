"""Writes kurir queue files (lib/mail/record.hpp) for recovery tests."""
import time


def record(rtype, data=b""):
    if isinstance(data, str):
        data = data.encode()
    out = bytearray(rtype.encode())
    n = len(data)
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            break
    return bytes(out) + data


def queue_file(sender, recipients, body_lines, done=(), arrival=None):
    """recipients: addresses; done: the subset already delivered."""
    arrival = arrival or time.time()
    out = record("V", "1") + record("T", f"{int(arrival)} 0") + record("Z", str(sum(len(l) + 1 for l in body_lines)))
    out += record("S", sender)
    for r in recipients:
        out += record("D" if r in done else "R", r)
    out += record("M")
    for line in body_lines:
        out += record("N", line)
    return out + record("X") + record("E")
