#include "server/answer_all.hpp"

#include "mail/delivery_log.hpp"
#include "mail/mail_proto.hpp"
#include "mail/queue_file.hpp"
#include "util/attr.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace kurir::server {
namespace {

bool dsn_code(std::string_view s) {
    // d.ddd.ddd with a class digit and 1-3 digit parts.
    size_t dot1 = s.find('.');
    if (dot1 != 1 || s.empty()) return false;
    size_t dot2 = s.find('.', 2);
    if (dot2 == std::string_view::npos) return false;
    auto digits = [](std::string_view p) {
        return !p.empty() && p.size() <= 3 && p.find_first_not_of("0123456789") == std::string_view::npos;
    };
    return digits(s.substr(0, 1)) && digits(s.substr(2, dot2 - 2)) && digits(s.substr(dot2 + 1));
}

}  // namespace

AgentAnswer nexthop_answer(std::string_view nexthop, std::string_view default_dsn, std::string_view default_text) {
    AgentAnswer a{std::string(default_dsn), std::string(default_text)};
    std::string_view rest = nexthop;
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    size_t sp = rest.find(' ');
    std::string_view first = rest.substr(0, sp);
    if (dsn_code(first) && first.front() == default_dsn.front()) {
        a.dsn = std::string(first);
        rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    }
    if (!rest.empty()) a.text = std::string(rest);
    return a;
}

void answer_all(ServerContext& ctx, util::Fd client, std::string_view default_dsn, std::string_view default_text) {
    util::set_io_timeout(client.get(), static_cast<int>(ctx.config.seconds("ipc_timeout")));
    auto frame = util::attr_read(client.get());
    if (!frame) {
        util::msg_warn("{}: bad request: {}", ctx.service, frame.error().text);
        return;
    }
    auto req = mail::proto::decode_delivery_request(*frame);
    if (!req) {
        util::msg_warn("{}: refused request: {}", ctx.service, req.error().text);
        return;
    }
    double handed = mail::now_seconds();
    AgentAnswer a = nexthop_answer(req->nexthop, default_dsn, default_text);
    // The envelope gives the arrival time and the original recipients.
    std::optional<mail::QueueEnvelope> env;
    if (mail::valid_queue_id(req->queue_id))
        if (auto bytes = util::read_file(ctx.queue.path(mail::Queue::active, req->queue_id)); bytes)
            if (auto parsed = mail::parse_queue_file(*bytes); parsed) env = std::move(*parsed);
    mail::proto::DeliveryResult reply;
    for (const auto& r : req->recipients) {
        std::string original;
        double arrival = handed;
        if (env) {
            arrival = env->arrival_sec + env->arrival_usec / 1e6;
            for (const auto& q : env->recipients)
                if (q.offset == r.offset) original = q.original;
        }
        mail::DeliveryTimes t{arrival, static_cast<double>(req->active_usec) / 1e6, handed, handed,
                              mail::now_seconds()};
        util::msg_info("{}", mail::delivery_log_line(req->queue_id, r.address, original, "none", t, a.dsn, a.text));
        reply.recipients.push_back({r.offset, a.dsn, a.text, {}, {}, {}});
    }
    util::attr_write(client.get(), mail::proto::encode(reply));
}

}  // namespace kurir::server
