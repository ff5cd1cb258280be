#include "cleanup/cleanup_masquerade.hpp"

#include "mail/address.hpp"

namespace kurir::cleanup {

std::string masquerade_address(std::string_view address, const std::vector<std::string>& domains,
                               const std::vector<std::string>& exceptions) {
    std::string out(address);
    std::string_view domain = mail::domain_part(address);
    if (domain.empty()) return out;
    std::string user = mail::lowercase(mail::local_part(address));
    for (const auto& e : exceptions)
        if (mail::lowercase(e) == user) return out;
    std::string lower = mail::lowercase(domain);
    for (const auto& entry : domains) {
        bool excluded = entry.starts_with('!');
        std::string masq = mail::lowercase(std::string_view(entry).substr(excluded ? 1 : 0));
        if (masq.empty()) continue;
        if (masq == lower) break;  // the domain itself: nothing to strip
        if (masq.size() < lower.size() && lower.ends_with(masq) && lower[lower.size() - masq.size() - 1] == '.') {
            if (!excluded) out = std::string(mail::local_part(address)) + "@" + masq;
            break;
        }
    }
    return out;
}

Masquerade masquerade_from_config(const mail::Config& cfg) {
    auto domains = cfg.list("masquerade_domains");
    if (domains.empty()) return nullptr;
    auto classes = parse_address_classes(cfg, "masquerade_classes");
    auto exceptions = cfg.list("masquerade_exceptions");
    return [domains, exceptions, classes](std::string_view address, AddressClass cls) -> util::Result<std::string> {
        if (!classes) return std::unexpected(classes.error());
        if (!(*classes & cls)) return std::string(address);
        return masquerade_address(address, domains, exceptions);
    };
}

}  // namespace kurir::cleanup
