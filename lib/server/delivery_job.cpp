#include "server/delivery_job.hpp"

#include "util/attr.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/socket.hpp"

namespace kurir::server {

const mail::QueueRecipient* DeliveryJob::recipient(size_t offset) const {
    for (const auto& q : envelope.recipients)
        if (q.offset == offset) return &q;
    return nullptr;
}

mail::DeliveryTimes DeliveryJob::times(double connected) const {
    return {envelope.arrival_sec + envelope.arrival_usec / 1e6, static_cast<double>(request.active_usec) / 1e6, handed,
            connected, mail::now_seconds()};
}

bool answer_delivery(int client, const mail::proto::DeliveryResult& result) {
    return static_cast<bool>(util::attr_write(client, mail::proto::encode(result)));
}

DeliveryRead read_delivery_job(const ServerContext& ctx, int client, std::string_view who) {
    auto frame = util::attr_read(client);
    if (!frame) {
        util::msg_warn("{}: bad request: {}", who, frame.error().text);
        return {std::nullopt, false};
    }
    auto req = mail::proto::decode_delivery_request(*frame);
    if (!req) {
        util::msg_warn("{}: refused request: {}", who, req.error().text);
        return {std::nullopt, false};
    }
    DeliveryJob job;
    job.handed = mail::now_seconds();
    job.request = std::move(*req);
    auto fail_all = [&](const std::string& text) -> DeliveryRead {
        mail::proto::DeliveryResult reply;
        for (const auto& r : job.request.recipients) reply.recipients.push_back({r.offset, "4.3.0", text, {}, {}, {}});
        return {std::nullopt, answer_delivery(client, reply)};
    };
    const std::string& id = job.request.queue_id;
    if (!mail::valid_queue_id(id)) return fail_all("bad queue id in request");
    // local reads it as root, in a directory mail_owner writes: never a
    // FIFO, a device or whatever a symbolic link there names.
    auto bytes = util::read_regular(ctx.queue.path(mail::Queue::active, id));
    if (!bytes) return fail_all(bytes.error().text);
    auto env = mail::parse_queue_file(*bytes);
    if (!env) return fail_all(env.error().text);
    job.envelope = std::move(*env);
    job.body.reserve(bytes->size());
    auto lines = mail::for_each_content_line(*bytes, job.envelope, [&](std::string_view line) {
        job.body.append(line);
        job.body += '\n';
    });
    if (!lines) return fail_all(lines.error().text);
    return {std::move(job), true};
}

}  // namespace kurir::server
