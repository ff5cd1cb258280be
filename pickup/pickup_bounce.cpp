#include "pickup/pickup_bounce.hpp"

#include "mail/address.hpp"
#include "mail/record.hpp"

namespace kurir::pickup {

RefusalNotice refusal_notice(const mail::Config& cfg, const PickedUp& picked, const mail::CleanupAnswer& answer,
                             long now) {
    std::string original;
    std::vector<mail::NoticeRecipient> rcpts;
    bool content = false;
    mail::RecView r;
    for (size_t pos = 0; mail::rec_next(picked.stream, pos, r) == mail::RecStatus::ok;) {
        if (r.type == mail::rec::message) content = true;
        if (!content && r.type == mail::rec::rcpt) {
            mail::NoticeRecipient nr;
            nr.address = std::string(r.data);
            nr.action = "failed";
            nr.status = answer.dsn;
            nr.diagnostic = answer.reason;
            rcpts.push_back(std::move(nr));
        }
        if (content && (r.type == mail::rec::line || r.type == mail::rec::part)) {
            original.append(r.data);
            if (r.type == mail::rec::line) original += '\n';
        }
    }
    std::string hostname = cfg.str("myhostname");
    mail::NoticeInput in;
    in.kind = mail::NoticeKind::failure;
    in.queue_id = answer.queue_id;
    in.reporting_mta = hostname;
    in.from = "MAILER-DAEMON@" + hostname + " (Mail Delivery System)";
    in.to = mail::quote_address(picked.sender);
    in.now = now;
    in.arrival_time = now;
    in.boundary = answer.queue_id + "." + std::to_string(now);
    in.message_id = "<" + std::to_string(now) + "." + answer.queue_id + "@" + hostname + ">";
    in.original = original;
    in.size_limit = static_cast<size_t>(cfg.integer("bounce_size_limit"));
    in.recipients = std::move(rcpts);
    return {picked.sender, mail::build_notice(in)};
}

}  // namespace kurir::pickup
