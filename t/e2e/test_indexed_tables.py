"""The indexed tables (hash:, lmdb:, cdb:) from kurir-map and kurir-alias:
-q, -s, -d, -i as postmap's; an lmdb: table deciding a route, rebuilt while
the instance runs and followed without reload; an lmdb: alias database
made by kurir-alias and used by local."""
import os
import subprocess

import pytest

from instance import PREFIX, wait_for
from peers import SmtpReceiver

MAP = os.path.join(PREFIX, "sbin", "kurir-map")
ALIAS = os.path.join(PREFIX, "sbin", "kurir-alias")
SUFFIX = {"hash": ".db", "lmdb": ".lmdb", "cdb": ".cdb"}


def run(*args, input=None):
    return subprocess.run(list(args), input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=60)


@pytest.mark.parametrize("type", ["hash", "lmdb", "cdb"])
def test_kurir_map_query_dump_delete_and_incremental(tmp_path, type):
    src = tmp_path / "table"
    src.write_text("Example.COM  smtp:[192.0.2.1]\nother.test   relay:[192.0.2.2]:2525\n")
    table = f"{type}:{src}"
    assert run(MAP, table).returncode == 0
    assert os.path.exists(str(src) + SUFFIX[type])
    q = run(MAP, "-q", "EXAMPLE.com", table)
    assert (q.returncode, q.stdout) == (0, "smtp:[192.0.2.1]\n")
    assert run(MAP, "-q", "nope.test", table).returncode == 1
    q = run(MAP, "-q", "-", table, input="other.test\nnope.test\nexample.com\n")
    assert (q.returncode, q.stdout) == (0, "other.test\trelay:[192.0.2.2]:2525\nexample.com\tsmtp:[192.0.2.1]\n")
    s = run(MAP, "-s", table)
    assert s.returncode == 0
    assert sorted(s.stdout.splitlines()) == ["example.com\tsmtp:[192.0.2.1]", "other.test\trelay:[192.0.2.2]:2525"]

    added = run(MAP, "-i", table, input="New.Test  smtp:[192.0.2.3]\nexample.com smtp:[192.0.2.9]\n")
    deleted = run(MAP, "-d", "Other.Test", table)
    if type == "cdb":
        # A cdb file is written once: postmap refuses to change one too.
        assert added.returncode != 0 and "incremental update is not supported for cdb tables" in added.stderr
        assert deleted.returncode != 0 and "delete is not supported for cdb tables" in deleted.stderr
        assert run(MAP, "-q", "other.test", table).returncode == 0
        return
    assert added.returncode == 0, added.stderr
    assert deleted.returncode == 0, deleted.stderr
    assert run(MAP, "-d", "other.test", table).returncode == 1  # gone already
    assert run(MAP, "-q", "new.test", table).stdout == "smtp:[192.0.2.3]\n"
    assert run(MAP, "-q", "example.com", table).stdout == "smtp:[192.0.2.9]\n"
    assert run(MAP, "-q", "other.test", table).returncode == 1
    assert sorted(run(MAP, "-s", table).stdout.splitlines()) == ["example.com\tsmtp:[192.0.2.9]",
                                                                 "new.test\tsmtp:[192.0.2.3]"]
    # -i makes a table that is not there yet.
    fresh = f"{type}:{tmp_path / 'fresh'}"
    assert run(MAP, "-i", fresh, input="a b\n").returncode == 0
    assert run(MAP, "-q", "a", fresh).stdout == "b\n"
    bad = run(MAP, "-i", table, input="lonely\n")
    assert bad.returncode != 0 and "stdin:1:" in bad.stderr


def test_a_table_without_type_is_of_default_database_type(make_instance, tmp_path):
    inst = make_instance()  # kurir init keeps hash (INTERFACE.md: kurir-alias FILE builds FILE.db)
    src = tmp_path / "t"
    src.write_text("k v\n")
    assert run(MAP, "-c", inst.dir, str(src)).returncode == 0
    assert os.path.exists(str(src) + ".db")
    os.unlink(str(src) + ".db")
    inst.set(default_database_type="lmdb")
    assert run(MAP, "-c", inst.dir, str(src)).returncode == 0
    assert os.path.exists(str(src) + ".lmdb") and not os.path.exists(str(src) + ".db")
    assert run(MAP, "-c", inst.dir, "-q", "k", str(src)).stdout == "v\n"
    inst.set(default_database_type="cdb")
    assert run(MAP, "-c", inst.dir, str(src)).returncode == 0
    assert os.path.exists(str(src) + ".cdb")
    conf = run(os.path.join(PREFIX, "sbin", "kurir-conf"), "-c", inst.dir, "alias_maps")
    assert conf.stdout == "alias_maps = $default_database_type:$config_directory/aliases\n"


def test_lmdb_transport_map_rebuilt_while_running_is_followed_without_reload(make_instance):
    with SmtpReceiver() as first, SmtpReceiver() as second:
        inst = make_instance()
        inst.set(transport_maps=inst.build_map("transport", f"remote.test smtp:[127.0.0.1]:{first.port}\n",
                                               type="lmdb"))
        assert os.path.exists(os.path.join(inst.dir, "transport.lmdb"))
        inst.start()
        inst.send("s@client.test", ["r@remote.test"], b"Subject: one\r\n\r\nfirst\r\n")
        assert b"first" in first.wait_messages(1)[0].data
        inst.wait_queue_empty()
        # kurir-map renames a new table into place; no kurir reload. (Another
        # recipient: qmgr remembers a resolved address for a second.)
        inst.build_map("transport", f"remote.test smtp:[127.0.0.1]:{second.port}\n", type="lmdb")
        inst.send("s@client.test", ["r2@remote.test"], b"Subject: two\r\n\r\nsecond\r\n")
        assert b"second" in second.wait_messages(1)[0].data
        inst.wait_queue_empty()
        assert len(first.messages) == 1
    assert "reload" not in inst.log()


def test_kurir_alias_lmdb_table_is_used_by_local(make_instance):
    inst = make_instance()
    path = inst.write_aliases("Team: amy, bob\n")
    res = subprocess.run(inst._prefix() + [ALIAS, "-c", inst.dir, f"lmdb:{path}"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert res.returncode == 0, res.stderr
    assert os.path.exists(path + ".lmdb")
    dump = run(ALIAS, "-s", f"lmdb:{path}")
    assert dump.stdout == "team: amy, bob\n"
    inst.set(alias_maps=f"lmdb:{path}")
    inst.start()
    inst.send("s@client.test", ["TEAM@mx.test"], "Subject: team\r\n\r\nhello team\r\n")
    for user in ("amy", "bob"):
        assert b"hello team" in open(inst.wait_delivered(user, 1)[0], "rb").read()
    inst.wait_queue_empty()
    assert not inst.maildir_files("team")
    # Each table library is loaded by the processes that open such a table:
    # local (alias_maps) maps LMDB and not Berkeley DB; cleanup and qmgr
    # open no indexed table and map neither (their relocated data is
    # private memory in every process: doc/performance.md).
    wait_for(lambda: (m := inst.maps("local", "liblmdb")) and all(m), what="a live local process that mapped LMDB")
    assert not any(inst.maps("local", "libdb-"))
    for name in ("cleanup", "qmgr"):
        for library in ("liblmdb", "libdb-", "libcdb"):
            maps = inst.maps(name, library)
            assert maps and not any(maps), (name, library)


def test_inline_transport_map_with_two_entries_in_main_cf(make_instance):
    """transport_maps = inline:{a=b, c=d}: one table, not split at its comma."""
    with SmtpReceiver() as mx:
        inst = make_instance()
        inst.set(transport_maps=f"inline:{{ {{ other.test = error:5.7.1 not here }}, "
                                f"remote.test=smtp:[127.0.0.1]:{mx.port} }}")
        q = run(MAP, "-q", "remote.test", f"inline:{{ other.test=x, remote.test=smtp:[127.0.0.1]:{mx.port} }}")
        assert q.stdout == f"smtp:[127.0.0.1]:{mx.port}\n"
        inst.start()
        inst.send("s@client.test", ["r@remote.test", "x@other.test"], b"Subject: inline\r\n\r\nbody\r\n")
        assert mx.wait_messages(1)[0].rcpt_tos == ["r@remote.test"]
        wait_for(lambda: "to=<x@other.test>" in inst.log() and "status=bounced (not here)" in inst.log(), 20,
                 "the bounce by error:")
    assert "warning" not in inst.log()


def test_mydestination_table_makes_a_domain_local(make_instance):
    """mydestination = $myhostname, localhost, lmdb:DIR/domains: a domain that
    is a key of the table is delivered by local."""
    inst = make_instance()
    inst.set(mydestination="$myhostname, localhost, " + inst.build_map("domains", "hosted.test ok\n", type="lmdb"))
    inst.start()
    inst.send("s@client.test", ["amy@Hosted.Test"], "Subject: hosted\r\n\r\nhello hosted\r\n")
    assert b"hello hosted" in open(inst.wait_delivered("amy", 1)[0], "rb").read()
    wait_for(lambda: "to=<amy@hosted.test>, relay=local" in inst.log().lower(), 20, "the delivery log line")
