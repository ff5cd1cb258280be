#include "local/local_recipient.hpp"

#include "mail/address.hpp"
#include "mail/privileged_accounts.hpp"
#include "mail/resolve.hpp"
#include "util/privilege.hpp"

#include <unistd.h>

namespace kurir::local {

std::variant<MailboxTarget, DeliveryStatus> find_mailbox(const mail::Config& cfg, std::string_view recipient,
                                                         const AccountLookup& account_of) {
    std::string user = mail::mailbox_user(cfg, recipient);
    if (!mail::safe_mailbox_name(user))
        return DeliveryStatus{"5.1.3", "bad address syntax: unsafe mailbox name"};
    uid_t uid = ::geteuid();
    gid_t gid = ::getegid();
    std::string home;
    const std::optional<util::Account>& account = account_of(user);
    if (account) {
        uid = account->uid;
        gid = account->gid;
        home = account->home;
    } else if (cfg.str("local_recipient_maps").empty()) {
        auto privs = mail::default_privs_account(cfg);
        if (!privs) return DeliveryStatus{"4.3.5", privs.error().text};
        if (util::running_as_root()) {
            uid = privs->uid;
            gid = privs->gid;
        }
    } else {
        return DeliveryStatus{"5.1.1", "unknown user: \"" + user + "\""};
    }
    if (util::running_as_root() && uid == 0) {
        // Never write a mailbox as root: root's mail goes with default_privs' rights.
        auto privs = mail::default_privs_account(cfg);
        if (!privs) return DeliveryStatus{"4.3.5", privs.error().text};
        uid = privs->uid;
        gid = privs->gid;
    }
    // Postfix's order: mailbox_command, then home_mailbox, then the spool.
    // The command is taken as written: $HOME, $EXTENSION... are the shell's.
    if (auto cmd = cfg.raw_value("mailbox_command"); cmd && !cmd->empty()) {
        MailboxTarget t{MailboxTarget::Kind::command, std::string(*cmd), uid, gid, user};
        t.home = home.empty() ? "/" : home;
        t.shell = account && !account->shell.empty() ? account->shell : "/bin/sh";
        return t;
    }
    std::string home_mailbox = cfg.str("home_mailbox");
    if (!home_mailbox.empty() && !home.empty()) {
        bool maildir = home_mailbox.back() == '/';
        std::string path = home + "/" + home_mailbox;
        if (maildir) path.pop_back();
        return MailboxTarget{maildir ? MailboxTarget::Kind::maildir : MailboxTarget::Kind::mbox, path, uid, gid, user};
    }
    std::string spool = cfg.str("mail_spool_directory");
    bool maildir = !spool.empty() && spool.back() == '/';
    while (spool.size() > 1 && spool.back() == '/') spool.pop_back();
    return MailboxTarget{maildir ? MailboxTarget::Kind::maildir : MailboxTarget::Kind::mbox, spool + "/" + user, uid,
                         gid, user, true};
}

}  // namespace kurir::local
