#include "local/local_alias.hpp"

#include "local/local_command.hpp"
#include "local/local_recipient.hpp"
#include "mail/address.hpp"
#include "mail/header.hpp"
#include "mail/resolve.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace kurir::local {

namespace {
constexpr int kMaxDepth = 20;

bool allowed(const mail::Config& cfg, std::string_view param, const std::string& origin) {
    auto list = cfg.list(param);
    return std::find(list.begin(), list.end(), origin) != list.end();
}

// Items of a :include: file or .forward: commas and newlines separate them.
std::vector<std::string> items_of_file(const std::string& text) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        if (line.empty() || line[0] == '#') continue;
        for (auto& item : mail::split_alias_value(line)) out.push_back(item);
    }
    return out;
}

// Whether a file may be there, seen with local's own rights: most users have
// no .forward, and a name root does not find (ENOENT) the user would not
// find either; anything else is looked at again as the user.
bool may_exist(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 || errno != ENOENT;
}

}  // namespace

DeliveryStatus as_user(uid_t uid, gid_t gid, const std::function<DeliveryStatus()>& fn) {
    if (!util::running_as_root()) return fn();
    if (::setegid(gid) < 0 || ::setgroups(1, &gid) < 0 || ::seteuid(uid) < 0) {
        (void)::seteuid(0);
        (void)::setegid(0);
        return {"4.3.0", "cannot switch to the recipient's user id"};
    }
    DeliveryStatus st = fn();
    if (::seteuid(0) < 0 || ::setegid(0) < 0) util::msg_fatal("cannot regain root after delivery");
    gid_t root = 0;
    ::setgroups(1, &root);
    return st;
}

Expander::Expander(const mail::Config& cfg, const mail::MapList& aliases, const Message& msg, Forwarder forward)
    : cfg_(cfg), aliases_(aliases), msg_(msg), forward_(std::move(forward)) {
    // Delivered-To: headers of the message as it arrived: a loop when we see our own.
    size_t pos = 0;
    while (pos < msg.body.size()) {
        size_t nl = msg.body.find('\n', pos);
        std::string_view line = msg.body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (line.empty()) break;
        if (mail::header_is(line, "Delivered-To")) {
            std::string_view v = line.substr(line.find(':') + 1);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            delivered_to_.insert(mail::lowercase(v));
        }
        pos = nl == std::string_view::npos ? msg.body.size() : nl + 1;
    }
}

std::string Expander::prefix(const std::string& recipient) const {
    std::string out = msg_.env.sender.empty() ? "Return-Path: <>\n"
                                              : "Return-Path: <" + mail::quote_address(msg_.env.sender) + ">\n";
    return out + "Delivered-To: " + mail::quote_address(recipient) + "\n";
}

DeliveryStatus Expander::deliver(const std::string& recipient) {
    if (delivered_to_.count(mail::lowercase(mail::quote_address(recipient))))
        return {"5.4.6", "mail forwarding loop for " + mail::quote_address(recipient)};
    return deliver_at(recipient, 0, true);
}

DeliveryStatus Expander::deliver_at(const std::string& recipient, int depth, bool expand) {
    if (depth > kMaxDepth) return {"5.4.6", "alias expansion too deep for " + mail::quote_address(recipient)};
    std::string user = mail::mailbox_user(cfg_, recipient);
    if (expand) {
        // The full local part first (user+ext), then the user.
        std::string full = mail::lowercase(mail::local_part(recipient));
        for (const std::string& key : {full, user}) {
            auto v = aliases_.lookup(key);
            if (!v) return {"4.3.0", "alias database unavailable: " + v.error().text};
            if (!*v) continue;
            // Commands and files from aliases run with default_privs' rights.
            auto privs = util::find_account(cfg_.str("default_privs"));
            if (!privs) return {"4.3.5", "default_privs: no such user"};
            return deliver_items(recipient, mail::split_alias_value(**v), depth, "alias", privs->uid, privs->gid, "/");
        }
        // The user's own .forward, owned by the user and not writable by others.
        const auto& acct = account(user);
        std::string path = acct ? acct->home + "/.forward" : "";
        if (acct && !acct->home.empty() && may_exist(path)) {
            auto text = as_user(acct->uid, acct->gid, [&]() -> DeliveryStatus {
                struct stat st {};
                if (::lstat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != acct->uid ||
                    (st.st_mode & 022))
                    return {"", ""};
                auto t = util::read_file(path);
                return {"2.0.0", t ? *t : ""};
            });
            if (text.ok() && !text.text.empty())
                return deliver_items(recipient, items_of_file(text.text), depth, "forward", acct->uid, acct->gid,
                                     acct->home);
        }
    }
    return to_mailbox(recipient);
}

DeliveryStatus Expander::deliver_items(const std::string& recipient, const std::vector<std::string>& items, int depth,
                                       const std::string& origin, uid_t uid, gid_t gid, const std::string& home) {
    // The worst outcome wins: a temporary failure retries the whole
    // recipient later; a permanent one bounces it.
    DeliveryStatus worst{"2.0.0", "delivered via " + origin + " expansion"};
    auto merge = [&](const DeliveryStatus& st) {
        if (st.ok()) return;
        if (worst.ok() || (st.dsn[0] == '4' && worst.dsn[0] == '5')) worst = st;
    };
    std::string self = mail::mailbox_user(cfg_, recipient);
    for (const auto& item : items) {
        if (item.starts_with("|")) {
            if (!allowed(cfg_, "allow_mail_to_commands", origin)) {
                merge({"5.7.1", "mail to command is restricted"});
                continue;
            }
            CommandRun run{item.substr(1), uid, gid, home, {}, cfg_.seconds("command_time_limit")};
            run.env = {{"SENDER", msg_.env.sender},
                       {"RECIPIENT", recipient},
                       {"LOCAL", std::string(mail::local_part(recipient))},
                       {"DOMAIN", std::string(mail::domain_part(recipient))},
                       {"USER", self},
                       {"LOGNAME", self}};
            std::string message = mbox_entry(msg_.env.sender, msg_.env.arrival_sec, prefix(recipient), msg_.body);
            message.pop_back();  // the command gets no trailing mbox separator line
            merge(deliver_command(run, message));
        } else if (item.starts_with("/")) {
            if (!allowed(cfg_, "allow_mail_to_files", origin)) {
                merge({"5.7.1", "mail to file is restricted"});
                continue;
            }
            if (item.back() == '/') {
                merge(as_user(uid, gid, [&] {
                    return deliver_maildir(item.substr(0, item.size() - 1), prefix(recipient), msg_.body,
                                           cfg_.str("myhostname"));
                }));
            } else {
                merge(as_user(uid, gid, [&] {
                    return deliver_mbox(item, msg_.env.sender, msg_.env.arrival_sec, prefix(recipient), msg_.body);
                }));
            }
        } else if (item.starts_with(":include:")) {
            std::string path = item.substr(9);
            std::string text;
            auto st = as_user(uid, gid, [&]() -> DeliveryStatus {
                auto t = util::read_file(path);
                if (!t) return {"4.3.0", t.error().text};
                text = *t;
                return {"2.0.0", ""};
            });
            if (!st.ok()) {
                merge(st);
                continue;
            }
            merge(deliver_items(recipient, items_of_file(text), depth + 1, "include", uid, gid, home));
        } else {
            bool no_expand = item.starts_with("\\");
            std::string addr = no_expand ? item.substr(1) : item;
            auto parsed = mail::parse_address(addr);
            if (!parsed) {
                merge({"5.1.3", "bad address in " + origin + ": " + addr});
                continue;
            }
            std::string target = mail::canonical_address(cfg_, *parsed);
            if (!mail::is_local_domain(cfg_, mail::domain_part(target))) {
                merge(forward_(target, recipient));
                continue;
            }
            // A name that points at itself means its own mailbox.
            bool same = mail::mailbox_user(cfg_, target) == self;
            merge(deliver_at(target, depth + 1, !no_expand && !same));
        }
    }
    return worst;
}

const std::optional<util::Account>& Expander::account(const std::string& user) {
    auto it = accounts_.find(user);
    if (it == accounts_.end()) it = accounts_.emplace(user, util::find_account(user)).first;
    return it->second;
}

DeliveryStatus Expander::to_mailbox(const std::string& recipient) {
    auto where = find_mailbox(cfg_, recipient, [this](const std::string& user) -> const auto& { return account(user); });
    if (auto* st = std::get_if<DeliveryStatus>(&where)) return *st;
    auto& target = std::get<MailboxTarget>(where);
    if (util::running_as_root() && target.in_spool) {
        // The spool belongs to the mail system, not to each user: the
        // user's mailbox there is made with root's rights and given to the
        // user. In the user's home, the user makes it (as_user below).
        auto made = target.kind == MailboxTarget::Kind::maildir ? make_spool_maildir(target.path, target.uid, target.gid)
                                                                : make_spool_mbox(target.path, target.uid, target.gid);
        if (!made.ok()) return made;
    }
    return as_user(target.uid, target.gid, [&] {
        if (target.kind == MailboxTarget::Kind::maildir)
            return deliver_maildir(target.path, prefix(recipient), msg_.body, cfg_.str("myhostname"));
        return deliver_mbox(target.path, msg_.env.sender, msg_.env.arrival_sec, prefix(recipient), msg_.body);
    });
}

}  // namespace kurir::local
