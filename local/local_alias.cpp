#include "local/local_alias.hpp"

#include "local/local_command.hpp"
#include "local/local_listfile.hpp"
#include "local/local_recipient.hpp"
#include "mail/address.hpp"
#include "mail/header.hpp"
#include "mail/privileged_accounts.hpp"
#include "mail/resolve.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <variant>
#include <cerrno>

namespace kurir::local {

namespace {
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

Expander::Expander(const mail::Config& cfg, const mail::MapList& aliases, const Message& msg, Forwarder forward,
                   Passer pass, const RoutingTables* routing)
    : cfg_(cfg), aliases_(aliases), msg_(msg), forward_(std::move(forward)), pass_(std::move(pass)), routing_(routing) {
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

DeliveryStatus refused_visit(Expansion::Visit visit, const std::string& recipient) {
    std::string who = mail::quote_address(recipient);
    switch (visit) {
        case Expansion::Visit::first: return {"", ""};
        case Expansion::Visit::again: return {"2.0.0", "duplicate"};
        case Expansion::Visit::loop: return {"5.4.6", "mail forwarding loop for " + who};
        case Expansion::Visit::too_deep:
            return {"5.4.6", "alias expansion too deep for " + who + " (more than " +
                                 std::to_string(Expansion::kMaxDepth) + " levels)"};
        case Expansion::Visit::too_many:
            return {"5.4.6", "alias expansion too large for " + who + " (more than " +
                                 std::to_string(Expansion::kMaxItems) + " destinations)"};
    }
    return {"4.3.0", "unknown expansion state"};
}

DeliveryStatus Expander::deliver(const std::string& recipient) {
    if (delivered_to_.count(mail::lowercase(mail::quote_address(recipient))))
        return {"5.4.6", "mail forwarding loop for " + mail::quote_address(recipient)};
    expansion_ = Expansion{};
    passes_ = 0;
    return deliver_at(recipient, true);
}

DeliveryStatus Expander::deliver_at(const std::string& recipient, bool expand) {
    std::string user = mail::mailbox_user(cfg_, recipient);
    if (expand) {
        // The full local part first (user+ext), then the user.
        std::string full = mail::lowercase(mail::local_part(recipient));
        for (const std::string& key : {full, user}) {
            auto v = aliases_.lookup(key);
            if (!v) return {"4.3.0", "alias database unavailable: " + v.error().text};
            if (!*v) continue;
            // Commands and files from aliases run with default_privs' rights.
            auto privs = mail::default_privs_account(cfg_);
            if (!privs) return {"4.3.5", privs.error().text};
            return expand_list("alias " + key, recipient, mail::split_alias_value(**v), "alias", privs->uid,
                               privs->gid, "/");
        }
        // The user's own .forward, read as the user: a regular file owned by
        // the user (or root) and not writable by others.
        const auto& acct = account(user);
        std::string path = acct ? acct->home + "/.forward" : "";
        // A .forward expanded before (or being expanded) is not read again.
        auto seen = acct && !acct->home.empty() ? expansion_.peek("forward " + path) : Expansion::Visit::first;
        if (seen == Expansion::Visit::again || seen == Expansion::Visit::loop)
            return expand_list("forward " + path, recipient, {}, "forward", acct->uid, acct->gid, acct->home);
        if (acct && !acct->home.empty() && may_exist(path)) {
            std::string text;
            auto read = as_user(acct->uid, acct->gid, [&]() -> DeliveryStatus {
                auto t = read_list_file(path, {acct->uid, S_IWGRP | S_IWOTH});
                if (!t) return {"4.3.0", t.error().text};
                if (*t) text = std::move(**t);
                return {"2.0.0", ""};
            });
            if (!read.ok()) util::msg_warn("{}: ignored", read.text);
            auto items = items_of_file(text);
            if (!items.empty())
                return expand_list("forward " + path, recipient, items, "forward", acct->uid, acct->gid,
                                   acct->home);
        }
    }
    return to_mailbox(recipient);
}

DeliveryStatus Expander::expand_list(const std::string& key, const std::string& recipient,
                                     const std::vector<std::string>& items, const std::string& origin, uid_t uid,
                                     gid_t gid, const std::string& home) {
    auto visit = expansion_.enter(key);
    if (visit != Expansion::Visit::first) {
        auto st = refused_visit(visit, recipient);
        if (!st.ok()) util::msg_warn("{}: {}: {}", msg_.queue_id, key, st.text);
        return st;
    }
    auto st = deliver_items(recipient, items, origin, uid, gid, home);
    expansion_.leave(key);
    return st;
}

DeliveryStatus Expander::deliver_include(const std::string& recipient, const std::string& path, uid_t uid,
                                         gid_t gid, const std::string& home) {
    auto config_error = [&](const std::string& why) -> DeliveryStatus {
        util::msg_warn("{}: :include: {}", msg_.queue_id, why);
        return {"5.3.5", "mail system configuration error"};
    };
    if (!path.starts_with("/")) return config_error(path + ": not an absolute path");
    std::string key = "include " + std::to_string(uid) + " " + path;
    if (expansion_.peek(key) != Expansion::Visit::first)  // refused without reading the file again
        return expand_list(key, recipient, {}, "include", uid, gid, home);
    std::optional<std::string> text;
    std::string why;
    auto st = as_user(uid, gid, [&]() -> DeliveryStatus {
        auto t = read_list_file(path, {std::nullopt, S_IWOTH});
        if (!t) why = t.error().text;
        else if (!*t) why = path + ": no such file";
        else text = std::move(**t);
        return {"2.0.0", ""};
    });
    if (!st.ok()) return st;
    if (!text) return config_error(why);
    return expand_list(key, recipient, items_of_file(*text), "include", uid, gid, home);
}

DeliveryStatus Expander::deliver_items(const std::string& recipient, const std::vector<std::string>& items,
                                       const std::string& origin, uid_t uid, gid_t gid, const std::string& home) {
    // The worst outcome wins: a temporary failure retries the whole
    // recipient later; a permanent one bounces it.
    DeliveryStatus worst{"2.0.0", "delivered via " + origin + " expansion"};
    auto merge = [&](const DeliveryStatus& st) {
        if (st.ok()) return;
        if (worst.ok() || (st.dsn[0] == '4' && worst.dsn[0] == '5')) worst = st;
    };
    // A destination gets one copy per expansion.
    auto first_visit = [&](const std::string& key) {
        auto visit = expansion_.deliver(key);
        if (visit == Expansion::Visit::first) return true;
        merge(refused_visit(visit, recipient));
        return false;
    };
    // Commands and files never run or write as root: a .forward of root's
    // gives them default_privs' rights, as Postfix does.
    uid_t run_uid = uid;
    gid_t run_gid = gid;
    if (run_uid == 0 && util::running_as_root()) {
        auto privs = mail::default_privs_account(cfg_);
        if (!privs) return {"4.3.5", privs.error().text};
        run_uid = privs->uid;
        run_gid = privs->gid;
    }
    std::string self = mail::mailbox_user(cfg_, recipient);
    for (const auto& item : items) {
        if (item.starts_with("|")) {
            if (!allowed(cfg_, "allow_mail_to_commands", origin)) {
                merge({"5.7.1", "mail to command is restricted"});
                continue;
            }
            if (!first_visit("command " + std::to_string(run_uid) + " " + item.substr(1))) continue;
            CommandRun run{item.substr(1), run_uid, run_gid, home, {}, cfg_.seconds("command_time_limit")};
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
            if (!first_visit("file " + std::to_string(run_uid) + " " + item)) continue;
            if (item.back() == '/') {
                merge(as_user(run_uid, run_gid, [&] {
                    return deliver_maildir(item.substr(0, item.size() - 1), prefix(recipient), msg_.body,
                                           cfg_.str("myhostname"));
                }));
            } else {
                merge(as_user(run_uid, run_gid, [&] {
                    return deliver_mbox(item, msg_.env.sender, msg_.env.arrival_sec, prefix(recipient), msg_.body,
                                        MboxKind::file, mail::mbox_locking(cfg_));
                }));
            }
        } else if (item.starts_with(":include:")) {
            merge(deliver_include(recipient, item.substr(9), uid, gid, home));
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
                if (!first_visit("remote " + mail::lowercase(target))) continue;
                merge(forward_(target, recipient));
                continue;
            }
            // A name that points at itself means its own mailbox.
            bool same = mail::mailbox_user(cfg_, target) == self;
            merge(deliver_at(target, !no_expand && !same));
        }
    }
    return worst;
}

const std::optional<util::Account>& Expander::account(const std::string& user) {
    auto it = accounts_.find(user);
    if (it == accounts_.end()) it = accounts_.emplace(user, util::find_account(user)).first;
    return it->second;
}

DeliveryStatus Expander::to_transport(const std::string& transport, const std::string& recipient) {
    if (!pass_) return {"4.3.5", "mail transport unavailable: " + transport};
    if (auto visit = expansion_.deliver("transport " + transport + " " + mail::lowercase(recipient));
        visit != Expansion::Visit::first)
        return refused_visit(visit, recipient);
    ++passes_;
    return pass_(transport, recipient);
}

// The unknown user's mail goes to luser_relay's address, expanded as an
// alias with that one member would be: a relay address that is itself
// unknown meets the open "luser_relay" list again, a loop (5.4.6).
DeliveryStatus Expander::to_luser_relay(const std::string& address, const std::string& recipient) {
    auto privs = mail::default_privs_account(cfg_);
    if (!privs) return {"4.3.5", privs.error().text};
    return expand_list("luser_relay", recipient, {address}, "luser_relay", privs->uid, privs->gid, "/");
}

DeliveryStatus Expander::to_mailbox(const std::string& recipient) {
    if (routing_) {
        const auto& known = account(mail::mailbox_user(cfg_, recipient));
        auto route = route_mailbox(cfg_, *routing_, recipient, known.has_value());
        if (!route) {
            util::msg_warn("{}: {}", msg_.queue_id, route.error().text);
            return {"4.3.0", route.error().text};
        }
        if (route->kind == MailboxRoute::Kind::transport) return to_transport(route->value, recipient);
        if (route->kind == MailboxRoute::Kind::luser_relay) return to_luser_relay(route->value, recipient);
    }
    auto where = find_mailbox(cfg_, recipient, [this](const std::string& user) -> const auto& { return account(user); });
    if (auto* st = std::get_if<DeliveryStatus>(&where)) return *st;
    auto& target = std::get<MailboxTarget>(where);
    if (auto visit = expansion_.deliver("mailbox " + std::to_string(target.uid) + " " + target.path);
        visit != Expansion::Visit::first)
        return refused_visit(visit, recipient);
    if (target.kind == MailboxTarget::Kind::command) {
        // mailbox_command: as the user (root's mail as default_privs), with
        // Postfix's environment; the message as for a |command.
        std::string local(mail::local_part(recipient));
        std::string delims = cfg_.str("recipient_delimiter");
        size_t cut = delims.empty() ? std::string::npos : local.find_first_of(delims);
        CommandRun run{target.path, target.uid, target.gid, target.home, {}, cfg_.seconds("command_time_limit")};
        run.env = {{"SENDER", msg_.env.sender},
                   {"RECIPIENT", recipient},
                   {"LOCAL", local},
                   {"DOMAIN", std::string(mail::domain_part(recipient))},
                   {"EXTENSION", cut == std::string::npos || cut == 0 ? "" : local.substr(cut + 1)},
                   {"USER", target.user},
                   {"LOGNAME", target.user},
                   {"SHELL", target.shell}};
        std::string message = mbox_entry(msg_.env.sender, msg_.env.arrival_sec, prefix(recipient), msg_.body);
        message.pop_back();  // no trailing mbox separator line
        return deliver_command(run, message);
    }
    mail::MboxLocking locking = mail::mbox_locking(cfg_);
    std::optional<mail::DotLock> spool_lock;
    util::Fd spool_maildir;
    if (util::running_as_root() && target.in_spool) {
        // The spool belongs to the mail system, not to each user: the
        // user's mailbox there is made with root's rights and given to the
        // user. In the user's home, the user makes it (as_user below).
        if (target.kind == MailboxTarget::Kind::maildir) {
            auto opened = open_spool_maildir(target.path, target.uid, target.gid);
            if (auto* refused = std::get_if<DeliveryStatus>(&opened)) return *refused;
            spool_maildir = std::move(std::get<util::Fd>(opened));
        } else if (auto made = make_spool_mbox(target.path, target.uid, target.gid); !made.ok()) {
            return made;
        }
        // An mbox's dot-lock goes beside it, where the user may not write:
        // made with root's rights too, as Postfix's local makes it.
        if (target.kind == MailboxTarget::Kind::mbox) {
            auto taken = mail::DotLock::take(target.path, locking);
            if (auto* refused = std::get_if<DeliveryStatus>(&taken)) return *refused;
            spool_lock.emplace(std::move(std::get<mail::DotLock>(taken)));
            locking.dotlock_held = spool_lock->held();
        }
    }
    return as_user(target.uid, target.gid, [&] {
        if (target.kind == MailboxTarget::Kind::maildir)
            return deliver_maildir(target.path, prefix(recipient), msg_.body, cfg_.str("myhostname"),
                                   spool_maildir.get());
        return deliver_mbox(target.path, msg_.env.sender, msg_.env.arrival_sec, prefix(recipient), msg_.body,
                            MboxKind::mailbox, locking);
    });
}

}  // namespace kurir::local
