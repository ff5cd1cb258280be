"""The attribute framing of kurir's internal conversations (lib/util/attr.hpp),
for tests that speak them: a frame is a 4-byte big-endian payload length,
then per field a 2-byte name length, the name, a 4-byte value length and
the value."""
import struct


def frame(fields):
    """The bytes of one frame holding fields, [(name, value)] in order."""
    payload = b""
    for name, value in fields:
        name, value = name.encode(), value.encode()
        payload += struct.pack(">H", len(name)) + name + struct.pack(">I", len(value)) + value
    return struct.pack(">I", len(payload)) + payload


def read_frame(sock):
    """The fields of the next frame on sock, or None at the end of the stream."""
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data
    head = exact(4)
    if head is None:
        return None
    payload = exact(struct.unpack(">I", head)[0])
    if payload is None:
        return None
    fields, at = [], 0
    while at < len(payload):
        (nlen,) = struct.unpack(">H", payload[at:at + 2])
        name = payload[at + 2:at + 2 + nlen].decode()
        (vlen,) = struct.unpack(">I", payload[at + 2 + nlen:at + 6 + nlen])
        fields.append((name, payload[at + 6 + nlen:at + 6 + nlen + vlen].decode()))
        at += 6 + nlen + vlen
    return fields
