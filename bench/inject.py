#!/usr/bin/python3
"""The sendmail-N scenarios' client: started once as the bench user, it
calls an MTA's sendmail COUNT times, PARALLEL at a time, each with its own
4 KB message on standard input, and prints the exit codes as JSON.

    inject.py COUNT PARALLEL RCPT SENDMAIL [ARG ...]

Each call is a plain fork and exec (Python uses vfork here): the harness
adds no program of its own per message, so what is timed is the MTA's
sendmail and what it starts."""
import concurrent.futures
import json
import subprocess
import sys


def main():
    count, parallel, rcpt, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]

    def one(i):
        msg = f"From: {rcpt}\nSubject: inj {i}\nMessage-ID: <inj{i}@bench>\n\n" + "x" * 4000 + "\n"
        # (stdout is this script's answer: the children's goes nowhere)
        return subprocess.run(argv + [rcpt], input=msg.encode(), stdout=subprocess.DEVNULL).returncode

    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        print(json.dumps(list(pool.map(one, range(count)))))


if __name__ == "__main__":
    main()
