// qmgr's notices: when recipients bounce (a 5xx, or deferred past the queue
// lifetime), one RFC 3464 report per message goes back to the sender through
// cleanup, from the null sender <>; likewise delay warnings and, for
// recipients with DSN NOTIFY=SUCCESS, success notices. NOTIFY decides per
// recipient (NEVER: none); RET=HDRS returns only the headers; ENVID and
// ORCPT are reported back. A message from <> that bounces goes to
// postmaster instead (a double bounce, sent from double_bounce_sender), and
// a postmaster notification that bounces is dropped: no loops.
#include "mail/address.hpp"
#include "mail/bounce_message.hpp"
#include "mail/dsn_params.hpp"
#include "mail/delivery_log.hpp"
#include "mail/resolve.hpp"
#include "qmgr/qmgr.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace kurir::qmgr {

bool Manager::send_notice(Message& m, mail::NoticeKind kind, const std::vector<Outcome>& about) {
    const mail::Config& cfg = ctx_.config;
    bool failure = kind == mail::NoticeKind::failure;
    int wanted = failure ? mail::notify::failure
                 : kind == mail::NoticeKind::delay ? mail::notify::delay : mail::notify::success;
    std::string double_bounce = mail::canonical_address(cfg, cfg.str("double_bounce_sender"));
    if (mail::lowercase(m.env.sender) == mail::lowercase(double_bounce)) {
        if (failure) util::msg_info("{}: postmaster notification undeliverable; discarded", m.id);
        return true;
    }
    // Only senders get delay and success notices; only failures of mail
    // from <> go to postmaster.
    if (m.env.sender.empty() && !failure) return true;
    bool to_postmaster = m.env.sender.empty();
    std::string notice_rcpt =
        mail::canonical_address(cfg, cfg.str(to_postmaster ? "2bounce_notice_recipient" : "bounce_notice_recipient"));
    if (!to_postmaster) notice_rcpt = m.env.sender;
    std::string envelope_sender = to_postmaster ? double_bounce : "";

    std::vector<mail::NoticeRecipient> recipients;
    for (const auto& o : about)
        for (const auto& r : m.env.recipients)
            if (r.offset == o.offset && (to_postmaster || mail::wants_notice(r.notify, wanted))) {
                mail::NoticeRecipient nr;
                nr.address = r.address;
                nr.original = r.orcpt.empty() ? r.original : r.orcpt.substr(r.orcpt.find(';') + 1);
                nr.action = failure ? "failed" : kind == mail::NoticeKind::delay ? "delayed" : o.action;
                nr.status = o.dsn;
                nr.diagnostic_is_smtp = !o.diagnostic.empty();
                nr.diagnostic = nr.diagnostic_is_smtp ? o.diagnostic : o.text;
                nr.remote_mta = o.remote_mta;
                recipients.push_back(std::move(nr));
            }
    if (recipients.empty()) return true;  // NOTIFY=NEVER, or not this kind

    auto bytes = util::read_regular(ctx_.queue.path(mail::Queue::active, m.id));
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
    in.kind = kind;
    in.queue_id = m.id;
    in.reporting_mta = hostname;
    in.from = "MAILER-DAEMON@" + hostname + " (Mail Delivery System)";
    in.to = mail::quote_address(notice_rcpt);
    in.envid = m.env.attr("dsn_envid");
    in.headers_only = m.env.attr("dsn_ret") == "HDRS";
    in.arrival_time = m.env.arrival_sec;
    if (kind == mail::NoticeKind::delay)
        in.will_retry_until = m.env.arrival_sec + cfg.seconds("maximal_queue_lifetime");
    in.now = now;
    in.boundary = m.id + "." + std::to_string(now);
    in.message_id = "<" + std::to_string(now) + "." + m.id + "@" + hostname + ">";
    in.original = original;
    in.size_limit = static_cast<size_t>(cfg.integer("bounce_size_limit"));
    in.recipients = std::move(recipients);
    // The notice carries the original's SMTPUTF8 request (it quotes its
    // addresses and headers), as Postfix's bounce daemon passes it on.
    std::vector<std::string> attrs{"origin=bounce"};
    if (m.env.attr("smtputf8") == "yes") attrs.emplace_back("smtputf8=yes");
    std::string stream = mail::compose_cleanup_stream(attrs, envelope_sender, {notice_rcpt}, mail::build_notice(in));
    auto answer = mail::submit_to_cleanup(ctx_.queue, stream, static_cast<int>(cfg.seconds("ipc_timeout")));
    if (!answer || answer->status != '0') {
        util::msg_warn("{}: cannot queue a bounce notice: {}", m.id, answer ? answer->reason : answer.error().text);
        return false;
    }
    const char* what = failure ? "non-delivery" : kind == mail::NoticeKind::delay ? "delay" : "delivery status";
    util::msg_info("{}: {} {} notification: {}", m.id, to_postmaster ? "postmaster" : "sender", what,
                   answer->queue_id);
    return true;
}

}  // namespace kurir::qmgr
