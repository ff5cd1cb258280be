#include "virtual/virtual_service.hpp"

#include "mail/address.hpp"
#include "mail/delivery_log.hpp"
#include "mail/mail_proto.hpp"
#include "mail/mailbox.hpp"
#include "mail/queue_file.hpp"
#include "mail/relay_recipients.hpp"
#include "server/delivery_job.hpp"
#include "util/attr.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace kurir::virtual_ {
namespace {

std::optional<long> parse_id(std::string_view text) {
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    return std::stol(std::string(text));
}

}  // namespace

util::Result<std::optional<long>> IdMaps::find(const mail::Config& cfg, const std::vector<std::string>& keys) {
    // Entries in order (static:N answers every key), the first that answers wins.
    for (const auto& entry : cfg.list(parameter_)) {
        auto it = tables_.try_emplace(entry, parameter_, std::vector<std::string>{entry}).first;
        const mail::MapList& maps = it->second.get(cfg);
        if (!maps.warnings().empty()) return util::fail(parameter_ + ": " + maps.warnings().front());
        for (size_t i = 0; i < keys.size(); ++i) {
            const std::string& key = keys[i];
            auto found = i == 0 ? maps.lookup(key) : maps.lookup_partial(key);
            if (!found) return util::fail(parameter_ + ": " + found.error().text);
            if (*found) {
                auto id = parse_id(**found);
                if (!id) return util::fail(parameter_ + ": bad id \"" + **found + "\" for " + key);
                return id;
            }
        }
    }
    return std::nullopt;
}

bool safe_mailbox_path(std::string_view path) {
    if (path.empty() || path.front() == '/') return false;
    for (char c : path)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    size_t at = 0;
    while (at <= path.size()) {
        size_t slash = path.find('/', at);
        std::string_view part = path.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at);
        if (part == "..") return false;
        if (slash == std::string_view::npos) break;
        at = slash + 1;
    }
    return true;
}

bool serve(server::ServerContext& ctx, int client, Tables& tables) {
    const mail::Config& cfg = ctx.config;
    auto read = server::read_delivery_job(ctx, client, "virtual");
    if (!read.job) return read.usable;
    auto& job = read.job;
    const mail::QueueEnvelope* env = &job->envelope;
    const std::string& body = job->body;
    const std::string& id = job->request.queue_id;
    mail::proto::DeliveryResult reply;
    std::string base = cfg.str("virtual_mailbox_base");
    long minimum_uid = cfg.integer("virtual_minimum_uid");

    for (const auto& r : job->request.recipients) {
        const mail::QueueRecipient* rc = job->recipient(r.offset);
        if (rc == nullptr) {
            reply.recipients.push_back({r.offset, "4.3.0", "recipient not in queue file", {}, {}, {}});
            continue;
        }
        double connected = mail::now_seconds();
        auto deliver = [&]() -> mail::DeliveryStatus {
            auto keys = mail::relay_recipient_keys(rc->address, cfg.str("recipient_delimiter"));
            const mail::MapList& maps = tables.mailboxes.get(cfg);
            if (!maps.warnings().empty()) return {"4.3.5", "virtual_mailbox_maps: " + maps.warnings().front()};
            std::optional<std::string> mailbox;
            for (size_t i = 0; i < keys.size(); ++i) {
                auto found = i == 0 ? maps.lookup(keys[i]) : maps.lookup_partial(keys[i]);
                if (!found) return {"4.3.0", "virtual_mailbox_maps: " + found.error().text};
                if (*found) {
                    mailbox = **found;
                    break;
                }
            }
            if (!mailbox) return {"5.1.1", "unknown user: \"" + mail::lowercase(rc->address) + "\""};
            auto uid = tables.uids.find(cfg, keys);
            auto gid = tables.gids.find(cfg, keys);
            for (const auto* found : {&uid, &gid})
                if (!*found) {
                    util::msg_warn("{}", found->error().text);
                    return {"4.3.5", "mail system configuration error"};
                }
            if (!*uid || !*gid || **uid < minimum_uid || **gid <= 0) {
                util::msg_warn("recipient {}: {}", rc->address,
                               !*uid   ? "no uid in virtual_uid_maps"
                               : !*gid ? "no gid in virtual_gid_maps"
                                       : "uid below virtual_minimum_uid or gid 0");
                return {"4.3.5", "mail system configuration error"};
            }
            if (base.empty() || base.front() != '/' || !safe_mailbox_path(*mailbox)) {
                util::msg_warn("recipient {}: mailbox \"{}\" under virtual_mailbox_base \"{}\" is not a safe path",
                               rc->address, *mailbox, base);
                return {"4.3.5", "mail system configuration error"};
            }
            std::string path = base + "/" + *mailbox;
            std::string prefix = (env->sender.empty() ? std::string("Return-Path: <>\n")
                                                      : "Return-Path: <" + mail::quote_address(env->sender) + ">\n") +
                                 "Delivered-To: " + mail::quote_address(rc->address) + "\n";
            bool maildir = path.back() == '/';
            while (path.size() > 1 && path.back() == '/') path.pop_back();
            return mail::as_user(static_cast<uid_t>(**uid), static_cast<gid_t>(**gid), [&]() -> mail::DeliveryStatus {
                // The directories below the base are made as the user, as
                // Postfix's virtual does.
                if (auto made = util::make_dirs(path.substr(0, path.rfind('/')), 0700); !made)
                    return {"4.2.0", made.error().text};
                if (maildir) return mail::deliver_maildir(path, prefix, body, cfg.str("myhostname"));
                return mail::deliver_mbox(path, env->sender, env->arrival_sec, prefix, body, mail::MboxKind::mailbox,
                                          mail::mbox_locking(cfg));
            });
        };
        auto st = deliver();
        util::msg_info("{}", mail::delivery_log_line(id, rc->address, rc->original, "virtual", job->times(connected),
                                                     st.dsn, st.text));
        reply.recipients.push_back({r.offset, st.dsn, st.text, {}, {}, st.ok() ? "delivered" : ""});
    }
    return server::answer_delivery(client, reply);
}

}  // namespace kurir::virtual_
