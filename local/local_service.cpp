#include "local/local_service.hpp"

#include "local/local_alias.hpp"
#include "mail/clients.hpp"
#include "mail/maps.hpp"
#include "mail/record.hpp"
#include "mail/address.hpp"
#include "mail/delivery_log.hpp"
#include "mail/mail_proto.hpp"
#include "mail/queue_file.hpp"
#include "server/server.hpp"
#include "util/attr.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"
#include "util/socket.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace kurir::local {

namespace {

// A copy of the message to a remote address, through cleanup, with the
// original sender and a Delivered-To: for loop detection.
DeliveryStatus forward_copy(const server::ServerContext& ctx, const mail::QueueEnvelope& env,
                            std::string_view body, const std::string& target, const std::string& delivered_to) {
    std::string text = "Delivered-To: " + mail::quote_address(delivered_to) + "\n";
    text.append(body);
    // The copy keeps the sender's SMTPUTF8 request.
    std::vector<std::string> attrs{"origin=forward"};
    if (env.attr("smtputf8") == "yes") attrs.emplace_back("smtputf8=yes");
    std::string stream = mail::compose_cleanup_stream(attrs, env.sender, {target}, text);
    auto answer = mail::submit_to_cleanup(ctx.queue, stream, static_cast<int>(ctx.config.seconds("ipc_timeout")));
    if (!answer) return {"4.3.0", "forward to " + target + ": " + answer.error().text};
    if (answer->status == '0') return {"2.0.0", "forwarded as " + answer->queue_id};
    return {answer->status == '5' ? "5.3.0" : "4.3.0", "forward to " + target + ": " + answer->reason};
}

}  // namespace

void serve(server::ServerContext& ctx, util::Fd client, mail::WatchedMaps& aliases) {
    util::set_io_timeout(client.get(), static_cast<int>(ctx.config.seconds("ipc_timeout")));
    auto frame = util::attr_read(client.get());
    if (!frame) {
        util::msg_warn("local: bad request: {}", frame.error().text);
        return;
    }
    auto req = mail::proto::decode_delivery_request(*frame);
    if (!req) {
        util::msg_warn("local: refused request: {}", req.error().text);
        return;
    }
    double handed = mail::now_seconds();
    const std::string& id = req->queue_id;
    mail::proto::DeliveryResult reply;
    auto fail_all = [&](std::string dsn, const std::string& text) {
        for (const auto& r : req->recipients) reply.recipients.push_back({r.offset, dsn, text, {}, {}, {}});
        util::attr_write(client.get(), mail::proto::encode(reply));
    };
    if (!mail::valid_queue_id(id)) return fail_all("4.3.0", "bad queue id in request");
    auto bytes = util::read_file(ctx.queue.path(mail::Queue::active, id));
    if (!bytes) return fail_all("4.3.0", bytes.error().text);
    auto env = mail::parse_queue_file(*bytes);
    if (!env) return fail_all("4.3.0", env.error().text);
    std::string body;
    body.reserve(bytes->size());
    auto lines = mail::for_each_content_line(*bytes, *env, [&](std::string_view line) {
        body.append(line);
        body += '\n';
    });
    if (!lines) return fail_all("4.3.0", lines.error().text);

    for (const auto& r : req->recipients) {
        const mail::QueueRecipient* rc = nullptr;
        for (const auto& q : env->recipients)
            if (q.offset == r.offset) rc = &q;
        if (rc == nullptr) {
            reply.recipients.push_back({r.offset, "4.3.0", "recipient not in queue file", {}, {}, {}});
            continue;
        }
        double connected = mail::now_seconds();
        Message msg{*env, body, id};
        Expander expander(ctx.config, aliases.get(ctx.config), msg,
                                 [&](const std::string& target, const std::string& delivered_to) {
                                     return forward_copy(ctx, *env, body, target, delivered_to);
                                 });
        auto st = expander.deliver(rc->address);
        mail::DeliveryTimes t{env->arrival_sec + env->arrival_usec / 1e6, static_cast<double>(req->active_usec) / 1e6, handed, connected,
                              mail::now_seconds()};
        util::msg_info("{}", mail::delivery_log_line(id, rc->address, rc->original, "local", t, st.dsn, st.text));
        reply.recipients.push_back({r.offset, st.dsn, st.text, {}, {}, {}});
    }
    util::attr_write(client.get(), mail::proto::encode(reply));
}

}  // namespace kurir::local
