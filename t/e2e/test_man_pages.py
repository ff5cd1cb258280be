"""Every installed program has a man page made from its header comment,
man renders each without a warning, and kurir.conf(5) lists the parameters
kurir-conf -d prints."""
import os
import re
import subprocess

from instance import PREFIX

MAN = os.path.join(PREFIX, "share", "man")


def pages(section):
    d = os.path.join(MAN, f"man{section}")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def render(path):
    res = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ, MANWIDTH="80"))
    assert res.returncode == 0, res.stderr
    return res.stdout, res.stderr


def test_each_program_has_a_page_in_its_section():
    tools = sorted(os.listdir(os.path.join(PREFIX, "sbin")))
    daemons = sorted(os.listdir(os.path.join(PREFIX, "libexec", "kurir")))
    # mailq(1) and newaliases(1) are sendmail(1), as the programs are.
    assert sorted(p[:-2] for p in pages(1)) == sorted(tools + ["mailq", "newaliases"])
    assert sorted(p[:-2] for p in pages(8)) == daemons
    assert pages(5) == ["kurir.conf.5", "master.cf.5"]


def test_every_page_renders_without_warnings():
    for section in (1, 5, 8):
        for page in pages(section):
            text, warnings = render(os.path.join(MAN, f"man{section}", page))
            assert warnings == "", f"{page}: {warnings}"
            name = page.rsplit(".", 1)[0]
            assert re.search(rf"^NAME\n\s+(\S+, )*{re.escape(name)}(, \S+)* - \S", text, re.M), \
                f"{page}:\n{text[:400]}"


def test_kurir_conf_5_lists_what_kurir_conf_d_prints():
    defaults = subprocess.run([os.path.join(PREFIX, "sbin", "kurir-conf"), "-d"], stdout=subprocess.PIPE,
                              text=True, check=True).stdout
    names = [line.split(" = ", 1)[0] for line in defaults.splitlines()]
    source = open(os.path.join(MAN, "man5", "kurir.conf.5")).read()
    listed = re.findall(r"^\.TP\n\\fB(.*?)\\fR$", source, re.M)
    assert [n.replace("\\-", "-") for n in listed] == names
    text, _ = render(os.path.join(MAN, "man5", "kurir.conf.5"))
    assert "smtpd_relay_restrictions" in text and "mail_owner" in text
