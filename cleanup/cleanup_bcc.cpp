#include "cleanup/cleanup_bcc.hpp"

#include "cleanup/cleanup_message.hpp"
#include "mail/address_map.hpp"

#include <fmt/format.h>

#include <map>
#include <memory>

namespace kurir::cleanup {

AliasLookup bcc_lookup(const mail::Config& cfg, const std::string& parameter) {
    static std::map<std::string, std::shared_ptr<mail::AddressMapTable>> tables;
    auto& table = tables[parameter];
    if (!table) table = std::make_shared<mail::AddressMapTable>(parameter);
    if (!table->enabled(cfg)) return nullptr;
    return [&cfg, t = table](std::string_view address) { return t->find(cfg, address); };
}

std::expected<void, Refusal> MessageBuilder::add_blind_copies() {
    std::string origin = attr("origin");
    // Bounces, local forwarding and a requeued message (which had its copies) get none.
    if ((origin != "smtp" && origin != "local") || attr("requeue") == "1") return {};
    std::vector<std::string> copies;
    auto look = [&](const AliasLookup& lookup, std::string_view parameter,
                    std::string_view address) -> std::expected<void, Refusal> {
        auto found = lookup(address);
        if (!found) {
            log_.push_back(fmt::format("warning: {}: {} map lookup problem for {} -- deferring delivery: {}",
                                       queue_id_, parameter, address, found.error().text));
            return std::unexpected(Refusal{'4', "4.3.0", "Temporary lookup failure"});
        }
        if (*found)
            for (auto& a : **found) copies.push_back(std::move(a));
        return {};
    };
    if (rewrite_.sender_bcc && !sender_.empty())
        if (auto l = look(rewrite_.sender_bcc, "sender_bcc_maps", sender_); !l) return l;
    if (rewrite_.recipient_bcc)
        for (const auto& rc : rcpts_)
            if (auto l = look(rewrite_.recipient_bcc, "recipient_bcc_maps", rc.canonical); !l) return l;
    std::string always = cfg_.str("always_bcc");
    if (!always.empty()) copies.push_back(always);
    for (const auto& a : copies) {
        auto c = canon_(a);
        if (!c) return std::unexpected(Refusal{'4', "4.3.0", c.error().text});
        if (seen_.insert(*c).second) rcpts_.push_back({a, *c, "", 0});
    }
    return {};
}

}  // namespace kurir::cleanup
