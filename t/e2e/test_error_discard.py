"""The error:, retry: and discard: transports (issue 16): transport_maps
entries that bounce, defer or drop mail with the nexthop's text, as
Postfix's error(8) and discard(8), logged relay=none."""
import re

from instance import wait_for


def test_error_retry_and_discard_transports(make_instance):
    inst = make_instance()
    transport = inst.build_map("transport", "err.test error:5.1.1 This domain has no mail\n"
                                            "plain.test error:\n"
                                            "bin.test discard:silently dropped\n"
                                            "quiet.test discard:\n"
                                            "later.test retry:4.4.1 maintenance until noon\n")
    inst.set(transport_maps=transport)
    inst.start()
    for rcpt in ("u@err.test", "u@plain.test", "u@bin.test", "u@quiet.test", "u@later.test"):
        inst.send("<>", [rcpt], f"Subject: to {rcpt}\r\n\r\nx\r\n")

    def logged(rcpt, rest):
        return wait_for(lambda: re.search(rf"to=<{re.escape(rcpt)}>, relay=none, delay=\S+, delays=\S+, {rest}",
                                          inst.log()), 30, f"{rcpt} logged")

    logged("u@err.test", r"dsn=5\.1\.1, status=bounced \(This domain has no mail\)")
    logged("u@plain.test", r"dsn=5\.0\.0, status=bounced \(mail delivery disabled by error transport\)")
    logged("u@bin.test", r"dsn=2\.0\.0, status=sent \(silently dropped\)")
    logged("u@quiet.test", r"dsn=2\.0\.0, status=sent \(discarded\)")
    logged("u@later.test", r"dsn=4\.4\.1, status=deferred \(maintenance until noon\)")
    # Only the retry message is left, waiting in deferred/ (between attempts).
    wait_for(lambda: len(inst.queue_files()) == 1 and len(inst.queue_files("deferred")) == 1, 30,
             "only the retry message left, deferred")
