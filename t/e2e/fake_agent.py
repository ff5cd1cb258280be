#!/usr/bin/python3
"""A delivery agent for tests (test_agent_reuse.py), run by master as a
master.cf service: serves the listening socket master passes (fd 3) one
connection at a time, reads delivery-request/1 frames (lib/mail/mail_proto.hpp)
and answers each recipient 2.0.0. It records in RECORD one line per
connection accepted ("accept") and per request read ("request QUEUE_ID").

Arguments (after master's options): RECORD MODE, where MODE is
  answer        every request on a connection is answered
  close-unread  the first request of a connection is answered; when the
                next one arrives, the connection is closed without reading
                it (as an agent that exits between requests)
  read-and-die  the first request of a connection is answered; the next is
                read, recorded, and the process exits without answering
                (as an agent killed mid-delivery)
"""
import os
import select
import socket
import sys

# Run from a link in the test's daemon_directory: the helpers are beside
# the file the link names.
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from attr_frame import frame, read_frame  # noqa: E402


def answer(request):
    fields = [("protocol", "delivery-result/1"), ("site", "alive")]
    for name, value in request:
        if name == "offset":
            fields += [("offset", value), ("dsn", "2.0.0"), ("text", "delivered by fake_agent"), ("diag", ""),
                       ("mta", ""), ("action", "")]
    return frame(fields)


def main():
    record, mode = sys.argv[-2], sys.argv[-1]

    def note(line):
        with open(record, "a") as f:
            f.write(line + "\n")

    listener = socket.socket(fileno=3)
    listener.setblocking(True)
    while True:
        conn, _ = listener.accept()
        note("accept")
        served = 0
        with conn:
            while True:
                if served > 0 and mode == "close-unread":
                    select.select([conn], [], [])
                    break  # closed with the request unread
                request = read_frame(conn)
                if request is None:
                    break
                note("request " + dict(request)["queue_id"])
                if served > 0 and mode == "read-and-die":
                    os._exit(0)
                conn.sendall(answer(request))
                served += 1


if __name__ == "__main__":
    main()
