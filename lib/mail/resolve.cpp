#include "mail/resolve.hpp"

#include "mail/address.hpp"

namespace kurir::mail {

std::string canonical_address(const Config& cfg, std::string_view address) {
    if (address.empty()) return {};
    std::string out(address);
    if (domain_part(out).empty()) {
        if (!out.empty() && out.back() == '@') out.pop_back();
        out += "@" + cfg.str("myorigin");
    }
    while (!out.empty() && out.back() == '.') out.pop_back();
    return out;
}

bool is_local_domain(const Config& cfg, std::string_view domain) {
    std::string d = lowercase(domain);
    for (const auto& dest : cfg.list("mydestination"))
        if (lowercase(dest) == d) return true;
    return false;
}

std::string mailbox_user(const Config& cfg, std::string_view recipient) {
    std::string user = lowercase(local_part(recipient));
    std::string delims = cfg.str("recipient_delimiter");
    if (!delims.empty()) {
        size_t cut = user.find_first_of(delims);
        if (cut != std::string::npos && cut > 0) user.resize(cut);
    }
    return user;
}

Resolved resolve_address(const Config& cfg, std::string_view address) {
    std::string rcpt = canonical_address(cfg, address);
    std::string domain(domain_part(rcpt));
    if (is_local_domain(cfg, domain)) return {"local", cfg.str("myhostname"), rcpt, ""};
    std::string relay = cfg.str("relayhost");
    return {"smtp", relay.empty() ? domain : relay, rcpt, ""};
}

}  // namespace kurir::mail
