#include "mail/sender_relayhost.hpp"

#include "mail/address.hpp"

namespace kurir::mail {

util::Result<std::optional<std::string>> sender_dependent_relayhost(const MapList& maps, std::string_view sender,
                                                                    std::string_view null_sender_key) {
    util::Result<std::optional<std::string>> found = std::nullopt;
    if (sender.empty()) {
        found = maps.lookup(null_sender_key);
    } else {
        std::string address = lowercase(sender);
        found = maps.lookup(address);
        std::string_view domain = domain_part(address);
        if (found && !*found && !domain.empty()) found = maps.lookup_partial("@" + std::string(domain));
    }
    if (!found) return util::fail("sender_dependent_relayhost_maps: " + found.error().text);
    if (*found && lowercase(**found) == "dunno") return std::nullopt;
    return found;
}

}  // namespace kurir::mail
