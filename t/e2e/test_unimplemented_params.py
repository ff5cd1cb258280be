"""A parameter kurir does not implement, set in main.cf or as a master.cf
`-o name=value`, is reported with file and line and never silently ignored;
one that asks for security kurir does not provide (TLS, SASL) stops
`kurir start`: an administrator who asked for encryption must not get
plaintext without a word."""
import os
import shutil
import socket
import subprocess
import tempfile

from instance import PREFIX, free_port, wait_for

CONF = os.path.join(PREFIX, "sbin", "kurir-conf")
REMOVED = ("command_directory", "forward_path", "in_flow_delay", "info_log_address_format",
           "local_destination_concurrency_limit",
           "smtpd_use_tls", "smtpd_tls_CAfile", "smtpd_sasl_local_domain")


def set_at_line(inst, name, value):
    """Appends `name = value` to main.cf; returns its line number."""
    inst.set(**{name: value})
    lines = open(os.path.join(inst.dir, "main.cf")).read().splitlines()
    return len(lines)


def assert_not_running(inst):
    assert inst.kurir("status", check=False).returncode == 1
    assert inst.processes() == []


def test_tls_asked_for_in_main_cf_stops_start_and_fails_check(make_instance):
    # smtpd_use_tls: Postfix's old switch, which kurir does not take (it
    # has smtpd_tls_security_level).
    inst = make_instance()
    line = set_at_line(inst, "smtpd_use_tls", "yes")
    where = f"{inst.dir}/main.cf:{line}"
    res = inst.kurir("start", check=False)
    assert res.returncode != 0
    assert where in res.stderr and "smtpd_use_tls = yes requests TLS" in res.stderr, res.stderr
    assert_not_running(inst)
    check = inst.kurir("check", check=False)
    assert check.returncode == 78  # EX_CONFIG
    assert where in check.stderr and "smtpd_use_tls" in check.stderr


def test_tls_level_without_a_certificate_stops_start(make_instance):
    inst = make_instance()
    set_at_line(inst, "smtpd_tls_security_level", "encrypt")
    res = inst.kurir("start", check=False)
    assert res.returncode != 0
    assert "smtpd_tls_security_level = encrypt: TLS needs smtpd_tls_cert_file" in res.stderr, res.stderr
    assert_not_running(inst)


def test_sasl_is_implemented_and_its_unimplemented_neighbours_are_reported(make_instance):
    # smtpd_sasl_auth_enable starts (AUTH is in test_smtpd_auth.py); a SASL
    # parameter kurir lacks is still a warning with file and line.
    inst = make_instance(smtpd_sasl_auth_enable="yes")
    line = set_at_line(inst, "smtpd_sasl_local_domain", "example.com")
    inst.start()
    where = f"{inst.dir}/main.cf:{line}: parameter smtpd_sasl_local_domain is not implemented by kurir"
    wait_for(lambda: where in inst.log(), 10, "the warning in the log")


def test_a_harmless_unimplemented_parameter_is_a_warning_and_start_works(make_instance):
    inst = make_instance()
    line = set_at_line(inst, "biff", "no")
    where = f"{inst.dir}/main.cf:{line}: parameter biff is not implemented by kurir"
    inst.start()
    with socket.create_connection(("127.0.0.1", inst.port), timeout=5) as s:
        assert s.recv(100).startswith(b"220 ")
    wait_for(lambda: where in inst.log(), 10, "the warning in the log")
    check = inst.kurir("check", check=False)
    assert check.returncode == 78 and where in check.stderr, check.stderr
    conf = subprocess.run([CONF, "-c", inst.dir, "-n"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert where in conf.stderr


def test_a_user_variable_that_a_setting_refers_to_is_no_warning(make_instance):
    inst = make_instance()
    inst.set(my_banner="$myhostname ESMTP hello", smtpd_banner="$my_banner")
    check = inst.kurir("check", check=False)
    assert check.returncode == 0, check.stderr
    assert "my_banner" not in check.stderr


def test_a_master_cf_option_that_asks_for_tls_stops_start(make_instance):
    inst = make_instance()
    line = inst.add_service(f"127.0.0.1:{free_port()} inet n - n - - smtpd -o smtpd_use_tls=yes")
    res = inst.kurir("start", check=False)
    assert res.returncode != 0
    assert f"{inst.dir}/master.cf:{line}" in res.stderr and "-o smtpd_use_tls=yes requests TLS" in res.stderr, \
        res.stderr
    assert_not_running(inst)
    check = inst.kurir("check", check=False)
    assert check.returncode == 78 and f"master.cf:{line}" in check.stderr


def test_wrapper_mode_without_a_certificate_or_misspelt_stops_start(make_instance):
    """Today's wrapper-mode line never runs a plaintext smtpd: without a
    certificate it stops start, and a misspelt name is unknown."""
    inst = make_instance()
    port = free_port()
    inst.add_service(f"127.0.0.1:{port} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes")
    res = inst.kurir("start", check=False)
    assert res.returncode != 0
    assert f"service 127.0.0.1:{port}: smtpd_tls_wrappermode = yes: TLS needs smtpd_tls_cert_file" in res.stderr, \
        res.stderr
    assert_not_running(inst)
    inst = make_instance()
    line = inst.add_service(f"127.0.0.1:{free_port()} inet n - n - - smtpd -o smtpd_tls_wrapermode=yes")
    res = inst.kurir("start", check=False)
    assert res.returncode != 0
    assert f"master.cf:{line}" in res.stderr and "unknown parameter smtpd_tls_wrapermode" in res.stderr, res.stderr
    assert_not_running(inst)


def test_a_master_cf_option_kurir_does_not_know_stops_start(make_instance):
    inst = make_instance()
    line = inst.add_service(f"127.0.0.1:{free_port()} inet n - n - - smtpd\n  -o no_such_param=1")
    res = inst.kurir("start", check=False)
    assert res.returncode != 0
    assert f"{inst.dir}/master.cf:{line - 1}" in res.stderr and "unknown parameter no_such_param" in res.stderr, \
        res.stderr
    assert_not_running(inst)


def test_a_harmless_unimplemented_master_cf_option_is_a_warning(make_instance):
    inst = make_instance()
    port = free_port()
    line = inst.add_service(f"127.0.0.1:{port} inet n - n - - smtpd -o biff=no")
    inst.start()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        assert s.recv(100).startswith(b"220 ")
    where = f"{inst.dir}/master.cf:{line}: service 127.0.0.1:{port}: -o biff=no: parameter biff is not implemented"
    wait_for(lambda: where in inst.log(), 10, "the warning in the log")


def test_reload_with_tls_asked_for_keeps_the_old_configuration(make_instance):
    inst = make_instance().start()
    line = set_at_line(inst, "smtpd_use_tls", "yes")
    inst.kurir("reload")
    wait_for(lambda: f"main.cf:{line}: smtpd_use_tls = yes requests TLS" in inst.log(), 20,
             "the refusal in the log")
    assert "reload failed, keeping the old configuration" in inst.log()
    assert inst.kurir("status").returncode == 0


def test_defaults_stock_and_init_configurations_hold_only_what_kurir_implements(make_instance):
    defaults = subprocess.run([CONF, "-d"], stdout=subprocess.PIPE, text=True, check=True).stdout
    names = {line.split(" =")[0] for line in defaults.splitlines()}
    assert "myhostname" in names and "smtpd_banner" in names
    for name in REMOVED:
        assert name not in names, name
    # What `kurir init` writes, and the stock main.cf and master.cf.
    inst = make_instance()
    check = inst.kurir("check", check=False)
    assert check.returncode == 0 and "warning" not in check.stderr, check.stderr
    stock = tempfile.mkdtemp(prefix="kurir-e2e-stock-")
    try:
        for f in ("main.cf", "master.cf"):
            shutil.copy(os.path.join(PREFIX, "share", "kurir", f), stock)
        res = subprocess.run([CONF, "-c", stock, "-n"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert res.returncode == 0 and res.stderr == "", res.stderr
    finally:
        shutil.rmtree(stock)
