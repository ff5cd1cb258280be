"""sendmail and kurir-drop start once per locally submitted message: they
load no shared library but libc (lib/mail/meson.build links the rest in),
so a start maps two objects and the loader resolves next to nothing
(doc/performance.md, "A message from sendmail"). A dependency that slips in
through mail_dep (OpenSSL, Berkeley DB, libevent, libstdc++) would cost
every submission again."""
import os
import subprocess

import pytest

from instance import PREFIX

ALLOWED = {"libc.so.6", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "libm.so.6"}


def needed(path):
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE, text=True, check=True).stdout
    return {line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines() if "(NEEDED)" in line}


@pytest.mark.parametrize("program", ["sendmail", "kurir-drop"])
def test_submission_program_loads_only_libc(program):
    libs = needed(os.path.join(PREFIX, "sbin", program))
    assert "libc.so.6" in libs
    assert libs <= ALLOWED, f"{program} loads {sorted(libs - ALLOWED)} at every submission"
