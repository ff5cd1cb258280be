#include "server/answer_all.hpp"

#include "server/delivery_job.hpp"

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

bool answer_all(ServerContext& ctx, int client, std::string_view default_dsn, std::string_view default_text) {
    auto read = read_delivery_job(ctx, client, ctx.service);
    if (!read.job) return read.usable;
    auto& job = read.job;
    AgentAnswer a = nexthop_answer(job->request.nexthop, default_dsn, default_text);
    mail::proto::DeliveryResult reply;
    for (const auto& r : job->request.recipients) {
        const mail::QueueRecipient* rc = job->recipient(r.offset);
        util::msg_info("{}", mail::delivery_log_line(job->request.queue_id, r.address, rc ? rc->original : "", "none",
                                                     job->times(job->handed), a.dsn, a.text));
        reply.recipients.push_back({r.offset, a.dsn, a.text, {}, {}, {}});
    }
    return answer_delivery(client, reply);
}

}  // namespace kurir::server
