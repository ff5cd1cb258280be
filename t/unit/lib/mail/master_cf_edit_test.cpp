#include "mail/main_cf.hpp"
#include "mail/master_cf_edit.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

namespace {

const char* kMaster =
    "# comment at the top\n"
    "smtp      inet  n       -       n       -       -       smtpd\n"
    "submission inet n - n - - smtpd\n"
    "  -o syslog_name=kurir/submission\n"
    "  # a comment inside the entry\n"
    "  -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes\n"
    "pickup    unix  n       -       n       60      1       pickup\n";

}  // namespace

TEST_CASE("master.cf entries: raw fields, continuation lines, physical span") {
    auto e = split_master_cf(kMaster);
    REQUIRE(e.size() == 3);
    CHECK(e[0].fields == std::vector<std::string>{"smtp", "inet", "n", "-", "n", "-", "-", "smtpd"});
    CHECK(e[1].fields.size() == 14);
    CHECK(e[1].first_line == 2);
    CHECK(e[1].last_line == 5);
    CHECK(e[2].first_line == 6);
}

TEST_CASE("postconf -M layout: columns 0 11 17 25 33 41 49 57; -Mf folds, one -o a line") {
    auto e = split_master_cf(kMaster);
    CHECK(format_master_entry(e[0].fields, false) == "smtp       inet  n       -       n       -       -       smtpd\n");
    CHECK(format_master_entry(e[2].fields, false) == "pickup     unix  n       -       n       60      1       pickup\n");
    CHECK(format_master_entry(e[1].fields, false) ==
          "submission inet  n       -       n       -       -       smtpd -o syslog_name=kurir/submission -o "
          "smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes\n");
    CHECK(format_master_entry(e[1].fields, true) ==
          "submission inet  n       -       n       -       -       smtpd\n"
          "    -o syslog_name=kurir/submission\n"
          "    -o smtpd_tls_security_level=encrypt\n"
          "    -o smtpd_sasl_auth_enable=yes\n");
    // A long name pushes the rest right by at least one space; long
    // non-option arguments fold before column 80.
    std::vector<std::string> pipe = {"a-very-long-service", "unix", "-", "n", "n", "-", "-", "pipe",
                                     "flags=DRhu", "user=vmail", "argv=/usr/lib/dovecot/deliver", "-f", "${sender}",
                                     "-d", "${recipient}"};
    CHECK(format_master_entry(pipe, false) ==
          "a-very-long-service unix - n     n       -       -       pipe flags=DRhu user=vmail "
          "argv=/usr/lib/dovecot/deliver -f ${sender} -d ${recipient}\n");
    CHECK(format_master_entry(pipe, true) ==
          "a-very-long-service unix - n     n       -       -       pipe flags=DRhu\n"
          "    user=vmail argv=/usr/lib/dovecot/deliver -f ${sender} -d ${recipient}\n");
}

TEST_CASE("postconf -F and -P views of an entry") {
    auto e = split_master_cf(kMaster);
    CHECK(format_master_field(e[2].fields, *master_field_index("wakeup")) == "pickup/unix/wakeup = 60\n");
    CHECK(format_master_field(e[2].fields, *master_field_index("process_limit")) == "pickup/unix/process_limit = 1\n");
    CHECK(format_master_field(e[1].fields, *master_field_index("command")) ==
          "submission/inet/command = smtpd -o syslog_name=kurir/submission -o smtpd_tls_security_level=encrypt -o "
          "smtpd_sasl_auth_enable=yes\n");
    CHECK_FALSE(master_field_index("maxproc"));
    auto p = master_params(e[1].fields);
    REQUIRE(p.size() == 3);
    CHECK(p[0] == std::pair<std::string, std::string>{"smtpd_sasl_auth_enable", "yes"});
    CHECK(p[2] == std::pair<std::string, std::string>{"syslog_name", "kurir/submission"});
    CHECK(master_params(e[0].fields).empty());
}

TEST_CASE("postconf -P edits: replace in place, add after the options, remove") {
    std::vector<std::string> f = {"pipe", "unix", "-", "n", "n", "-", "-", "pipe", "-v", "-o", "a=1", "flags=F", "argv=/x"};
    set_master_param(f, "a", "2");
    CHECK(f == std::vector<std::string>{"pipe", "unix", "-", "n", "n", "-", "-", "pipe", "-v", "-o", "a=2", "flags=F", "argv=/x"});
    set_master_param(f, "b", "3");
    CHECK(f == std::vector<std::string>{"pipe", "unix", "-", "n", "n", "-", "-", "pipe", "-v", "-o", "a=2", "-o", "b=3",
                                        "flags=F", "argv=/x"});
    CHECK(remove_master_param(f, "a"));
    CHECK_FALSE(remove_master_param(f, "a"));
    CHECK_FALSE(remove_master_param(f, "flags"));  // an argument, not an option
    CHECK(f == std::vector<std::string>{"pipe", "unix", "-", "n", "n", "-", "-", "pipe", "-v", "-o", "b=3", "flags=F", "argv=/x"});
    set_master_field(f, *master_field_index("command"), "smtpd  -o x=y");
    CHECK(f == std::vector<std::string>{"pipe", "unix", "-", "n", "n", "-", "-", "smtpd", "-o", "x=y"});
    set_master_field(f, *master_field_index("chroot"), "y");
    CHECK(f[4] == "y");
}

TEST_CASE("an edited master.cf entry is rewritten in its place; comments and other entries stay") {
    auto e = split_master_cf(kMaster);
    auto f = e[1].fields;
    set_master_param(f, "smtpd_tls_security_level", "may");
    std::string out = replace_master_entry(kMaster, e[1], f);
    CHECK(out ==
          "# comment at the top\n"
          "smtp      inet  n       -       n       -       -       smtpd\n"
          "submission inet  n       -       n       -       -       smtpd\n"
          "    -o syslog_name=kurir/submission\n"
          "    -o smtpd_tls_security_level=may\n"
          "    -o smtpd_sasl_auth_enable=yes\n"
          "  # a comment inside the entry\n"
          "pickup    unix  n       -       n       60      1       pickup\n");
    CHECK(replace_master_entry(kMaster, e[0], {}) ==
          std::string(kMaster).replace(21, 62, ""));
}

TEST_CASE("postconf -X and -# on main.cf: the entry and its continuation lines, nothing else") {
    std::string text =
        "# mynetworks = old\n"
        "mynetworks = 127.0.0.0/8\n"
        "  10.0.0.0/8\n"
        "# keep me\n"
        "myhostname = mx.test\n"
        "mynetworks_style = host\n";
    CHECK(remove_main_cf(text, "mynetworks", false) ==
          "# mynetworks = old\n"
          "# keep me\n"
          "myhostname = mx.test\n"
          "mynetworks_style = host\n");
    CHECK(remove_main_cf(text, "mynetworks", true) ==
          "# mynetworks = old\n"
          "#mynetworks = 127.0.0.0/8\n"
          "#  10.0.0.0/8\n"
          "# keep me\n"
          "myhostname = mx.test\n"
          "mynetworks_style = host\n");
    CHECK(remove_main_cf(text, "absent", false) == text);
    CHECK(remove_main_cf("a = 1\nb=2", "b", false) == "a = 1\n");
}
