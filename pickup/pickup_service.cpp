#include "pickup/pickup_service.hpp"

#include "mail/address.hpp"
#include "mail/clients.hpp"
#include "mail/mail_proto.hpp"
#include "mail/smtputf8.hpp"
#include "pickup/pickup_bounce.hpp"
#include "pickup/pickup_file.hpp"
#include "server/server.hpp"
#include "util/attr.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"
#include "util/socket.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <cstring>

namespace kurir::pickup {

namespace {

void quarantine(const server::ServerContext& ctx, const std::string& id, const std::string& why) {
    util::msg_warn("maildrop/{}: {}; moved to corrupt", id, why);
    if (auto mv = ctx.queue.move(id, mail::Queue::maildrop, mail::Queue::corrupt); !mv)
        util::msg_warn("{}", mv.error().text);
}

// Returns false when cleanup could not be asked (the scan waits for the
// next wake-up); a file cleanup refused for now is left for the next scan.
bool pick_up(const server::ServerContext& ctx, const std::string& id) {
    std::string path = ctx.queue.path(mail::Queue::maildrop, id);
    int raw = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (raw < 0) {
        if (errno != ENOENT) util::msg_warn("open {}: {}", path, std::strerror(errno));
        return true;
    }
    util::Fd fd(raw);
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        quarantine(ctx, id, "not a regular file with one link");
        return true;
    }
    long limit = ctx.config.integer("message_size_limit");
    if (limit > 0 && st.st_size > 2 * limit + (1 << 20)) {
        quarantine(ctx, id, "message too big");
        return true;
    }
    std::string bytes(static_cast<size_t>(st.st_size), '\0');
    if (::pread(fd.get(), bytes.data(), bytes.size(), 0) != st.st_size) {
        util::msg_warn("read {}: {}", path, std::strerror(errno));
        return true;
    }
    auto account = util::find_account(st.st_uid);
    auto owner = util::find_account(ctx.config.str("mail_owner"));
    Submitter who{st.st_uid, account ? account->name : std::to_string(st.st_uid),
                          st.st_uid == 0 || (owner && owner->uid == st.st_uid)};
    auto autodetect = mail::parse_smtputf8_autodetect(ctx.config.list("smtputf8_autodetect_classes"));
    if (!autodetect) {  // a configuration error: the mail waits for the fix
        util::msg_warn("maildrop/{}: {}; will try again", id, autodetect.error().text);
        return false;
    }
    auto picked = prepare_maildrop_file(ctx.config, bytes, who, autodetect->sendmail);
    if (!picked) {
        quarantine(ctx, id, picked.error());
        return true;
    }
    auto answer = mail::submit_to_cleanup(
        ctx.queue, picked->stream, static_cast<int>(ctx.config.seconds("ipc_timeout")), [&](const std::string& qid) {
            util::msg_info("{}: uid={} from=<{}>", qid, st.st_uid, mail::quote_address(picked->sender));
        });
    if (!answer) {
        util::msg_warn("maildrop/{}: {}", id, answer.error().text);
        return false;
    }
    if (answer->status == '0') {
        if (::unlink(path.c_str()) < 0) util::msg_warn("remove {}: {}", path, std::strerror(errno));
        return true;
    }
    if (answer->status == '5' && answer->content) {
        // header/body_checks REJECT: the sender hears of it by mail, as from
        // Postfix (sendmail exited 0 long ago); the maildrop file is done.
        if (picked->sender.empty()) {
            util::msg_info("{}: content rejected, sender is <>: no notice", answer->queue_id);
        } else {
            auto notice = refusal_notice(ctx.config, *picked, *answer, static_cast<long>(::time(nullptr)));
            auto sent = mail::submit_to_cleanup(ctx.queue,
                                                mail::compose_cleanup_stream({"origin=bounce"}, "", {notice.recipient},
                                                                             notice.text),
                                                static_cast<int>(ctx.config.seconds("ipc_timeout")));
            if (!sent || sent->status != '0') {
                util::msg_warn("maildrop/{}: cannot queue a bounce notice: {}; will try again", id,
                               sent ? sent->reason : sent.error().text);
                return false;
            }
            util::msg_info("{}: sender non-delivery notification: {}", answer->queue_id, sent->queue_id);
        }
        if (::unlink(path.c_str()) < 0) util::msg_warn("remove {}: {}", path, std::strerror(errno));
        return true;
    }
    if (answer->status == '5') {
        quarantine(ctx, id, "refused by cleanup: " + answer->reason);
        return true;
    }
    // This file's trouble, not cleanup's: the next one is still tried.
    util::msg_warn("maildrop/{}: cleanup: {}; will try again", id, answer->reason);
    return true;
}

}  // namespace

void scan(const server::ServerContext& ctx) {
    for (const auto& id : ctx.queue.list(mail::Queue::maildrop))
        if (!pick_up(ctx, id)) break;  // cleanup is unavailable: wait for the next wake-up
}

void on_trigger(const server::ServerContext& ctx, std::string_view request) {
    auto trigger = mail::proto::decode_trigger_bytes(request);
    if (!trigger) return util::msg_warn("public/{}: {}", mail::service::pickup, trigger.error().text);
    if (trigger->kind != mail::proto::Trigger::Kind::wakeup)
        return util::msg_warn("public/{}: trigger {} is not for pickup", mail::service::pickup, static_cast<char>(trigger->kind));
    scan(ctx);
}

}  // namespace kurir::pickup
