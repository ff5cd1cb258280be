#include "smtp/smtp_fallback.hpp"

#include "mail/address.hpp"

#include <algorithm>

namespace kurir::smtp {

std::vector<std::string> fallback_relays(const mail::Config& cfg, std::string_view nexthop) {
    std::vector<std::string> out;
    std::string self = mail::lowercase(nexthop);
    for (const auto& relay : cfg.list("smtp_fallback_relay")) {
        std::string r = mail::lowercase(relay);
        if (r != self && std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
    }
    return out;
}

}  // namespace kurir::smtp
