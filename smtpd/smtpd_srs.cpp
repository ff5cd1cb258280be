#include "smtpd/smtpd_srs.hpp"

#include "mail/address.hpp"
#include "mail/srs.hpp"
#include "util/text.hpp"

namespace kurir::smtpd {

SrsRecipient srs_recipient(const mail::Config& cfg, const std::string& rcpt, long now) {
    std::string srs_domain = cfg.str("srs_domain");
    if (srs_domain.empty() || util::lowercase(mail::domain_part(rcpt)) != util::lowercase(srs_domain) ||
        !mail::srs::is_srs(mail::local_part(rcpt)))
        return {};
    auto codec = mail::srs::from_config(cfg);
    if (!codec) return {SrsRecipient::Kind::error, {}, codec.error().text};
    auto target = (*codec)->reverse(rcpt, now);
    if (!target) return {SrsRecipient::Kind::invalid, {}, target.error().text};
    // What it reverses to must be an address (a domain after its last "@").
    if (mail::domain_part(*target).empty() || !mail::parse_address(*target))
        return {SrsRecipient::Kind::invalid, {}, "Bad address in SRS address"};
    return {SrsRecipient::Kind::valid, *target, {}};
}

}  // namespace kurir::smtpd
