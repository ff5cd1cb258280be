#include "tools/instance.hpp"

#include <fmt/format.h>

namespace kurir::tools {

std::string instance_main_cf(const InstanceChoices& c) {
    std::string out = fmt::format(
        "# kurir instance configuration (Postfix parameter names; see kurir-conf -d)\n"
        "queue_directory = {0}/queue\n"
        "mail_spool_directory = {0}/mail/\n"
        "maillog_file = {0}/log/maillog\n"
        "mail_owner = {1}\n"
        "default_privs = {2}\n"
        "# Any local part gets a Maildir under mail_spool_directory.\n"
        "local_recipient_maps =\n"
        "mydestination = $myhostname, localhost\n",
        c.dir, c.owner, c.privs);
    if (!c.hostname.empty()) out += fmt::format("myhostname = {}\n", c.hostname);
    return out;
}

std::string instance_master_cf(const InstanceChoices& c) {
    return fmt::format(
        "# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
        "{:<14} inet  n       -       n       -       -       smtpd\n"
        "pickup         unix  n       -       n       60      1       pickup\n"
        "cleanup        unix  -       -       n       -       0       cleanup\n"
        "qmgr           unix  n       -       n       300     1       qmgr\n"
        "rewrite        unix  -       -       n       -       -       trivial-rewrite\n"
        "local          unix  -       n       n       -       -       local\n"
        "smtp           unix  -       -       n       -       -       smtp\n"
        "relay          unix  -       -       n       -       -       smtp\n"
        "lmtp           unix  -       -       n       -       -       lmtp\n"
        "anvil          unix  -       -       n       -       1       anvil\n"
        "error          unix  -       -       n       -       -       error\n"
        "retry          unix  -       -       n       -       -       error\n"
        "discard        unix  -       -       n       -       -       discard\n"
        "virtual        unix  -       n       n       -       -       virtual\n",
        c.listen);
}

std::string instance_aliases() {
    return "# aliases(5): name: value, ...\n"
           "postmaster: root\n"
           "MAILER-DAEMON: postmaster\n";
}

}  // namespace kurir::tools
