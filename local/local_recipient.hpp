// Which mailbox a local recipient's mail goes to, and with whose rights.
#pragma once

#include "local/local_mailbox.hpp"
#include "mail/config.hpp"
#include "util/privilege.hpp"

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace kurir::local {

struct MailboxTarget {
    enum class Kind { maildir, mbox, command } kind;
    std::string path;  // the mailbox; for command, mailbox_command as written (no $name expansion)
    uid_t uid;
    gid_t gid;
    std::string user;
    bool in_spool = false;  // mail_spool_directory (the system's), not the user's home
    std::string home{};     // command: the user's home and shell, for its environment
    std::string shell{};
};

// user+ext -> user (with recipient_delimiter), lowercased, checked for
// names that could leave the spool. An account in passwd is delivered as that
// account; with an empty local_recipient_maps, any other name is delivered
// with default_privs' rights; otherwise it is an unknown user (5.1.1).
// account_of looks a (checked) user name up in passwd.
using AccountLookup = std::function<const std::optional<util::Account>&(const std::string& user)>;
std::variant<MailboxTarget, DeliveryStatus> find_mailbox(const mail::Config& cfg, std::string_view recipient,
                                                         const AccountLookup& account_of);

}  // namespace kurir::local
