#include "smtp/smtp_srs.hpp"

#include "mail/address.hpp"
#include "mail/srs.hpp"
#include "util/text.hpp"

namespace kurir::smtp {

bool forwarded_recipient(const mail::Config& cfg, const mail::QueueEnvelope& env, const mail::QueueRecipient& rcpt) {
    if (env.attr("origin") == "forward") return true;
    if (rcpt.original.empty()) return false;
    std::string_view sent_to = mail::domain_part(rcpt.original);
    std::string origin = sent_to.empty() ? cfg.str("myorigin") : std::string(sent_to);
    return util::lowercase(origin) != util::lowercase(mail::domain_part(rcpt.address));
}

util::Result<std::string> forwarded_sender(const mail::Config& cfg, const std::string& sender, long now) {
    if (sender.empty() || cfg.str("srs_domain").empty()) return sender;
    std::string_view domain = mail::domain_part(sender);
    if (domain.empty()) return sender;
    auto ours = mail::srs::our_domain(cfg, domain);
    if (!ours) return std::unexpected(ours.error());
    if (*ours) return sender;
    auto codec = mail::srs::from_config(cfg);
    if (!codec) return std::unexpected(codec.error());
    return (*codec)->forward(sender, now);
}

}  // namespace kurir::smtp
