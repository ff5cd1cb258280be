#include "cleanup/cleanup_virtual_alias.hpp"

#include "cleanup/cleanup_message.hpp"
#include "mail/address.hpp"
#include "mail/address_map.hpp"

#include <fmt/format.h>

#include <set>

namespace kurir::cleanup {

AliasLimits AliasLimits::from_config(const mail::Config& cfg) {
    return {cfg.integer("virtual_alias_recursion_limit"), cfg.integer("virtual_alias_expansion_limit"),
            cfg.integer("virtual_alias_address_length_limit")};
}

util::Result<std::vector<std::string>> expand_virtual_alias(std::string_view address, const AliasLookup& lookup,
                                                            const AliasLimits& limits, std::string_view title) {
    std::vector<std::string> out{std::string(address)};
    std::set<std::string> self;  // addresses (lowercased) that expanded into themselves
    for (size_t arg = 0; arg < out.size(); ++arg) {
        if (static_cast<long>(out.size()) > limits.expansion)
            return util::fail(fmt::format("unreasonable {} map expansion size for {} -- deferring delivery", title,
                                          address));
        for (long count = 0;; ++count) {
            if (self.contains(mail::lowercase(out[arg]))) break;
            if (count >= limits.recursion)
                return util::fail(
                    fmt::format("unreasonable {} map nesting for {} -- deferring delivery", title, address));
            auto found = lookup(out[arg]);
            if (!found)
                return util::fail(fmt::format("{} map lookup problem for {} -- deferring delivery: {}", title,
                                              address, found.error().text));
            if (!*found || (*found)->empty()) break;
            std::string lhs = mail::lowercase(out[arg]);
            for (size_t i = 0; i < (*found)->size(); ++i) {
                const std::string& a = (**found)[i];
                if (static_cast<long>(a.size()) > limits.address_length)
                    return util::fail(fmt::format("unreasonable {} result {:.300}... -- deferring delivery", title, a));
                if (i == 0)
                    out[arg] = a;
                else
                    out.push_back(a);
                // The user who adds her own address to her expansion.
                if (mail::lowercase(a) == lhs) self.insert(lhs);
            }
        }
    }
    return out;
}

// Each recipient's expansion takes its place, with its original address
// and DSN options; a recipient that two expansions reach is kept once.
std::expected<void, Refusal> MessageBuilder::expand_virtual_aliases() {
    if (!rewrite_.virtual_alias) return {};
    AliasLimits limits = AliasLimits::from_config(cfg_);
    // A result without a domain is at $myorigin, as every address.
    AliasLookup lookup = [this](std::string_view a) -> util::Result<std::optional<std::vector<std::string>>> {
        auto found = rewrite_.virtual_alias(a);
        if (!found || !*found) return found;
        for (auto& r : **found) {
            auto c = canon_(r);
            if (!c) return std::unexpected(c.error());
            r = *c;
        }
        return found;
    };
    std::vector<Rcpt> out;
    std::set<std::string> seen;
    for (const auto& rc : rcpts_) {
        auto expanded = expand_virtual_alias(rc.canonical, lookup, limits);
        if (!expanded) {
            log_.push_back(fmt::format("warning: {}: {}", queue_id_, expanded.error().text));
            return std::unexpected(Refusal{'4', "4.6.0", "Alias expansion error"});
        }
        for (auto& a : *expanded)
            if (seen.insert(a).second) out.push_back({rc.original, std::move(a), rc.orcpt, rc.notify});
    }
    rcpts_ = std::move(out);
    seen_ = std::move(seen);
    return {};
}

AliasLookup virtual_alias_lookup(const mail::Config& cfg) {
    static mail::AddressMapTable table("virtual_alias_maps");
    if (!table.enabled(cfg)) return nullptr;
    return [&cfg](std::string_view address) { return table.find(cfg, address); };
}

}  // namespace kurir::cleanup
