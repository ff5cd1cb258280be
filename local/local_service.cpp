#include "local/local_service.hpp"

#include "local/local_alias.hpp"
#include "local/local_pass.hpp"
#include "local/local_routing.hpp"
#include "mail/clients.hpp"
#include "mail/maps.hpp"
#include "mail/record.hpp"
#include "mail/address.hpp"
#include "mail/delivery_log.hpp"
#include "mail/mail_proto.hpp"
#include "mail/queue_file.hpp"
#include "server/delivery_job.hpp"
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

bool serve(server::ServerContext& ctx, int client, mail::WatchedMaps& aliases) {
    auto read = server::read_delivery_job(ctx, client, "local");
    if (!read.job) return read.usable;
    auto& job = read.job;
    const mail::QueueEnvelope& env = job->envelope;
    static mail::WatchedMaps mailbox_transport_maps("mailbox_transport_maps");
    static mail::WatchedMaps fallback_transport_maps("fallback_transport_maps");
    RoutingTables routing{mailbox_transport_maps.get(ctx.config), fallback_transport_maps.get(ctx.config)};
    mail::proto::DeliveryResult reply;
    for (const auto& r : job->request.recipients) {
        const mail::QueueRecipient* rc = job->recipient(r.offset);
        if (rc == nullptr) {
            reply.recipients.push_back({r.offset, "4.3.0", "recipient not in queue file", {}, {}, {}});
            continue;
        }
        double connected = mail::now_seconds();
        Message msg{env, job->body, job->request.queue_id};
        // A recipient handed whole to another agent (mailbox_transport) has
        // that agent's result and log line, as with Postfix's deliver_pass.
        std::optional<mail::proto::RecipientResult> passed;
        Expander expander(
            ctx.config, aliases.get(ctx.config), msg,
            [&](const std::string& target, const std::string& delivered_to) {
                return forward_copy(ctx, env, job->body, target, delivered_to);
            },
            [&](const std::string& transport, const std::string& address) {
                passed = pass_to_transport(ctx, job->request, r.offset, address, transport);
                return DeliveryStatus{passed->dsn, passed->text};
            },
            &routing);
        auto st = expander.deliver(rc->address);
        if (passed && expander.passed_only()) {
            reply.recipients.push_back(*passed);
            continue;
        }
        util::msg_info("{}", mail::delivery_log_line(job->request.queue_id, rc->address, rc->original, "local",
                                                     job->times(connected), st.dsn, st.text));
        reply.recipients.push_back({r.offset, st.dsn, st.text, {}, {}, {}});
    }
    return server::answer_delivery(client, reply);
}

}  // namespace kurir::local
