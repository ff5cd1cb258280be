#include "cleanup/cleanup_service.hpp"

#include "cleanup/cleanup_message.hpp"
#include "mail/clients.hpp"
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

// Reads the client's records up to and including the end-of-content record.
util::Result<std::string> read_stream(int fd, size_t max_bytes) {
    std::string buf;
    size_t scan = 0;
    char tmp[65536];
    for (;;) {
        ssize_t n = ::read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return util::fail_errno("read from client");
        if (n == 0) return util::fail("client went away before the end of the message");
        buf.append(tmp, static_cast<size_t>(n));
        if (buf.size() > max_bytes) return util::fail("message stream too large");
        mail::RecView r;
        for (;;) {
            auto st = mail::rec_next(buf, scan, r);
            if (st == mail::RecStatus::need_more) break;
            if (st == mail::RecStatus::bad) return util::fail("malformed record from client");
            if (r.type == mail::rec::content_end) return buf;
        }
    }
}

}  // namespace

void serve(server::ServerContext& ctx, util::Fd client, mail::RewriteClient& rewrite) {
    util::set_io_timeout(client.get(), static_cast<int>(ctx.config.seconds("ipc_timeout")));
    std::string id = mail::new_queue_id();
    if (!util::attr_write(client.get(), mail::proto::encode(mail::proto::CleanupHello{id}))) return;
    long limit = ctx.config.integer("message_size_limit");
    size_t max_stream = limit > 0 ? static_cast<size_t>(limit) * 2 + (1 << 20) : util::kMaxFrame;
    auto stream = read_stream(client.get(), max_stream);
    if (!stream) {
        util::msg_warn("{}: {}", id, stream.error().text);
        util::attr_write(client.get(), mail::proto::encode(mail::proto::CleanupReply{'4', id, "4.3.0", stream.error().text}));
        return;
    }
    struct timeval now {};
    ::gettimeofday(&now, nullptr);
    auto out = build_queue_file(ctx.config, {id, now.tv_sec, now.tv_usec, *stream},
                                         [&](std::string_view a) { return rewrite.rewrite(a); });
    if (!out) {
        util::msg_info("{}: reject: {} {}", id, out.error().dsn, out.error().text);
        util::attr_write(client.get(), mail::proto::encode(mail::proto::CleanupReply{
                                           out.error().status, id, out.error().dsn, out.error().text}));
        return;
    }
    auto written = util::create_file_durable(ctx.queue.dir(mail::Queue::incoming), id, {out->file}, 0600);
    if (!written) {
        util::msg_warn("{}: {}", id, written.error().text);
        util::attr_write(client.get(),
                         mail::proto::encode(mail::proto::CleanupReply{'4', id, "4.3.0", "queue file write error"}));
        return;
    }
    util::msg_info("{}: message-id={}", id, out->message_id);
    util::attr_write(client.get(), mail::proto::encode(mail::proto::CleanupReply{'0', id, "", ""}));
    mail::send_trigger(ctx.queue, mail::service::qmgr, mail::proto::Trigger::Kind::wakeup);
}

}  // namespace kurir::cleanup
