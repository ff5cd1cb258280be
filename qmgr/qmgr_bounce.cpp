// qmgr's notices: when recipients bounce (a 5xx, or deferred past the queue
// lifetime), one RFC 3464 report per message goes back to the sender through
// cleanup, from the null sender <>. A message from <> that bounces goes to
// postmaster instead (a double bounce, sent from double_bounce_sender), and
// a postmaster notification that bounces is dropped: no loops.
#include "mail/address.hpp"
#include "mail/bounce_message.hpp"
#include "mail/delivery_log.hpp"
#include "mail/resolve.hpp"
#include "qmgr/qmgr.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace kurir::qmgr {

bool Manager::send_notice(Message& m) {
    const mail::Config& cfg = ctx_.config;
    std::string double_bounce = mail::canonical_address(cfg, cfg.str("double_bounce_sender"));
    if (mail::lowercase(m.env.sender) == mail::lowercase(double_bounce)) {
        util::msg_info("{}: postmaster notification undeliverable; discarded", m.id);
        return true;
    }
    bool to_postmaster = m.env.sender.empty();
    std::string notice_rcpt =
        mail::canonical_address(cfg, cfg.str(to_postmaster ? "2bounce_notice_recipient" : "bounce_notice_recipient"));
    if (!to_postmaster) notice_rcpt = m.env.sender;
    std::string envelope_sender = to_postmaster ? double_bounce : "";

    auto bytes = util::read_file(ctx_.queue.path(mail::Queue::active, m.id));
    if (!bytes) {
        util::msg_warn("{}: cannot read it for a bounce notice: {}", m.id, bytes.error().text);
        return false;
    }
    std::string original;
    original.reserve(bytes->size());
    auto lines = mail::for_each_content_line(*bytes, m.env, [&](std::string_view line) {
        original.append(line);
        original += '\n';
    });
    if (!lines) {
        util::msg_warn("{}: cannot read it for a bounce notice: {}", m.id, lines.error().text);
        return false;
    }

    std::string hostname = cfg.str("myhostname");
    long now = static_cast<long>(mail::now_seconds());
    mail::NoticeInput in;
    in.kind = mail::NoticeKind::failure;
    in.queue_id = m.id;
    in.reporting_mta = hostname;
    in.from = "MAILER-DAEMON@" + hostname + " (Mail Delivery System)";
    in.to = mail::quote_address(notice_rcpt);
    in.envid = m.env.attr("dsn_envid");
    in.headers_only = m.env.attr("dsn_ret") == "HDRS";
    in.arrival_time = m.env.arrival_sec;
    in.now = now;
    in.boundary = m.id + "." + std::to_string(now);
    in.message_id = "<" + std::to_string(now) + "." + m.id + "@" + hostname + ">";
    in.original = original;
    in.size_limit = static_cast<size_t>(cfg.integer("bounce_size_limit"));
    for (const auto& o : m.bounced)
        for (const auto& r : m.env.recipients)
            if (r.offset == o.offset) {
                mail::NoticeRecipient nr;
                nr.address = r.address;
                nr.original = r.original;
                nr.action = "failed";
                nr.status = o.dsn.starts_with("5") || o.dsn.starts_with("4") ? o.dsn : "5.0.0";
                nr.diagnostic_is_smtp = !o.diagnostic.empty();
                nr.diagnostic = nr.diagnostic_is_smtp ? o.diagnostic : o.text;
                nr.remote_mta = o.remote_mta;
                in.recipients.push_back(std::move(nr));
            }
    std::string stream = mail::compose_cleanup_stream({"origin=bounce"}, envelope_sender, {notice_rcpt},
                                                      mail::build_notice(in));
    auto answer = mail::submit_to_cleanup(ctx_.queue, stream, static_cast<int>(cfg.seconds("ipc_timeout")));
    if (!answer || answer->status != '0') {
        util::msg_warn("{}: cannot queue a bounce notice: {}", m.id, answer ? answer->reason : answer.error().text);
        return false;
    }
    util::msg_info("{}: {} non-delivery notification: {}", m.id, to_postmaster ? "postmaster" : "sender",
                   answer->queue_id);
    return true;
}

}  // namespace kurir::qmgr
