#include "cleanup/cleanup_service.hpp"

#include "cleanup/cleanup_file.hpp"
#include "cleanup/cleanup_message.hpp"
#include "cleanup/cleanup_milter_edits.hpp"
#include "cleanup/cleanup_milters.hpp"
#include "mail/address.hpp"
#include "mail/clients.hpp"
#include "mail/maps.hpp"
#include "mail/record.hpp"
#include "server/server.hpp"
#include "mail/mail_proto.hpp"
#include "util/attr.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/socket.hpp"

#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

namespace kurir::cleanup {

namespace {

bool answer(int fd, const mail::proto::CleanupReply& reply) {
    return util::attr_write(fd, mail::proto::encode(reply)).has_value();
}

// The tables of header_checks, mime_header_checks, nested_header_checks and
// body_checks, opened once and again when one changes (a regexp: or pcre:
// file rewritten, a hash: table rebuilt). A table that cannot be opened
// (missing, or an error at a line) is an error at every lookup: mail waits
// (4.3.0) rather than pass unchecked.
class CheckMaps {
public:
    explicit CheckMaps(std::string parameter) : parameter_(parameter), maps_(std::move(parameter)) {}
    CheckLookup lookup(const mail::Config& cfg) {
        if (cfg.list(parameter_).empty()) return nullptr;
        const mail::MapList* maps = &maps_.get(cfg);
        return [this, maps](std::string_view key) -> util::Result<std::optional<std::string>> {
            if (!maps->warnings().empty()) return util::fail(parameter_ + ": " + maps->warnings().front());
            return maps->lookup(key);
        };
    }

private:
    std::string parameter_;
    mail::WatchedMaps maps_;
};

CheckTables check_tables(const mail::Config& cfg) {
    static CheckMaps header("header_checks"), mime("mime_header_checks"), nested("nested_header_checks"),
        body("body_checks");
    return {header.lookup(cfg), mime.lookup(cfg), nested.lookup(cfg), body.lookup(cfg)};
}

RewriteTables rewrite_tables(const mail::Config& cfg) {
    return {virtual_alias_lookup(cfg), canonical_lookup(cfg, "canonical_maps"),
            canonical_lookup(cfg, "sender_canonical_maps"), canonical_lookup(cfg, "recipient_canonical_maps"),
            masquerade_from_config(cfg), bcc_lookup(cfg, "sender_bcc_maps"),
            bcc_lookup(cfg, "recipient_bcc_maps")};
}

void print_log(std::vector<std::string> lines) {
    for (auto& l : lines) {
        if (l.starts_with("warning: "))
            util::msg_warn("{}", std::string_view(l).substr(9));
        else
            util::msg_info("{}", l);
    }
}

}  // namespace

// The message goes into the queue file as it arrives: the builder holds the
// envelope and the headers, the body passes through to the file in 64 KB
// pieces, so a message costs cleanup a bounded amount of memory however
// large it is. An answer before the stream's end leaves the rest of it
// unread: the connection closes (false).
bool serve(server::ServerContext& ctx, int client, mail::RewriteClient& rewrite, mail::KeptTrigger& qmgr) {
    std::string id = mail::new_queue_id();
    if (!util::attr_write(client, mail::proto::encode(mail::proto::CleanupHello{id}))) return false;
    auto file = IncomingFile::create(ctx.queue.dir(mail::Queue::incoming), id);
    if (!file) {
        util::msg_warn("{}: {}", id, file.error().text);
        answer(client, {'4', id, "4.3.0", "queue file write error"});
        return false;
    }
    struct timeval now {};
    ::gettimeofday(&now, nullptr);
    bool write_failed = false;
    MessageBuilder builder(ctx.config, id, now.tv_sec, now.tv_usec,
                           [&](std::string_view a) { return rewrite.rewrite(a); },
                           [&](std::string_view bytes) -> util::Result<void> {
                               auto w = file->write(bytes);
                               if (!w) {
                                   util::msg_warn("{}: {}", id, w.error().text);
                                   write_failed = true;
                                   return util::fail("queue file write error");
                               }
                               return {};
                           },
                           check_tables(ctx.config), rewrite_tables(ctx.config), dkim_keys_lookup(ctx.config));
    char buf[65536];
    while (!builder.ended()) {
        ssize_t n = ::read(client, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::string why = n < 0 ? util::fail_errno("read from client").error().text
                                    : "client went away before the end of the message";
            util::msg_warn("{}: {}", id, why);
            answer(client, {'4', id, "4.3.0", why});
            return false;
        }
        auto fed = builder.feed(std::string_view(buf, static_cast<size_t>(n)));
        print_log(builder.take_log());
        if (!fed) {
            if (write_failed || fed.error().content) {
                // logged where it happened
            } else if (fed.error().status == '4') {  // the client's fault: a broken stream
                util::msg_warn("{}: {}", id, fed.error().text);
            } else {
                util::msg_info("{}: reject: {} {}", id, fed.error().dsn, fed.error().text);
            }
            answer(client, {fed.error().status, id, fed.error().dsn, fed.error().text, fed.error().content});
            return false;
        }
    }
    // From here the whole stream has been read: whatever the answer, the
    // connection may carry the next message, unless bytes followed the end.
    bool keep = !builder.overrun();
    const CleanupOutput& summary = builder.summary();
    if (summary.discard || summary.check_discard) {
        // An access table's or a content check's DISCARD: the client is
        // told it was delivered (the check's line is logged already).
        if (!summary.check_discard)
            util::msg_info("{}: discard: message-id={} from=<{}>: smtpd access table", id, summary.message_id,
                           mail::quote_address(summary.sender));
        return answer(client, {'0', id, "", ""}) && keep;
    }
    bool hold = summary.hold || summary.check_hold;
    auto patch = builder.size_patch();
    auto done = file->write_at(patch.offset, patch.bytes);
    if (done && !summary.milter_edits.empty()) done = apply_milter_edits(ctx, id, *file, summary.milter_edits, hold);
    if (done) {  // non_smtpd_milters (cleanup_milters.hpp)
        auto milters = apply_non_smtpd_milters(ctx, id, *file, hold);
        if (!milters)
            done = std::unexpected(milters.error());
        else if (*milters)
            return answer(client, **milters) && keep;
    }
    if (done && summary.dkim_after_milters) done = sign_after_milters(ctx, id, *file);
    if (done) done = file->commit(hold ? ctx.queue.dir(mail::Queue::hold) : std::string());
    if (!done) {
        util::msg_warn("{}: {}", id, done.error().text);
        return answer(client, {'4', id, "4.3.0", "queue file write error"}) && keep;
    }
    util::msg_info("{}: message-id={}", id, summary.message_id);
    if (summary.hold) util::msg_info("{}: hold: smtpd access table", id);
    bool answered = answer(client, {'0', id, "", ""});
    qmgr.send(mail::proto::Trigger::Kind::wakeup);
    return answered && keep;
}

}  // namespace kurir::cleanup
