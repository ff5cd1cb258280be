#include "cleanup/cleanup_canonical.hpp"

#include "cleanup/cleanup_message.hpp"
#include "mail/address.hpp"
#include "mail/address_map.hpp"
#include "mail/header.hpp"
#include "mail/header_addresses.hpp"

#include <fmt/format.h>

#include <map>
#include <memory>

namespace kurir::cleanup {

util::Result<unsigned> parse_address_classes(const mail::Config& cfg, const std::string& parameter) {
    unsigned bits = 0;
    for (const auto& item : cfg.list(parameter)) {
        std::string name = mail::lowercase(item);
        if (name == "envelope_sender") bits |= kEnvelopeSender;
        else if (name == "envelope_recipient") bits |= kEnvelopeRecipient;
        else if (name == "header_sender") bits |= kHeaderSender;
        else if (name == "header_recipient") bits |= kHeaderRecipient;
        else return util::fail(fmt::format("{}: unknown address class \"{}\"", parameter, item));
    }
    return bits;
}

util::Result<std::string> map_canonical(std::string_view address, const AliasLookup& lookup, std::string_view title,
                                        const std::function<util::Result<std::string>(std::string_view)>& canon) {
    std::string a(address);
    for (int count = 0; count < kCanonicalRecursion; ++count) {
        auto found = lookup(a);
        if (!found)
            return util::fail(fmt::format("{} map lookup problem for {} -- deferring delivery: {}", title, address,
                                          found.error().text));
        if (!*found || (*found)->empty()) return a;
        auto next = canon((**found)[0]);  // one to one: the first address of the value
        if (!next) return std::unexpected(next.error());
        if (mail::lowercase(*next) == mail::lowercase(a)) return *next;
        a = *next;
    }
    return util::fail(fmt::format("unreasonable {} map nesting for {} -- deferring delivery", title, address));
}

AliasLookup canonical_lookup(const mail::Config& cfg, const std::string& parameter) {
    static std::map<std::string, std::shared_ptr<mail::AddressMapTable>> tables;
    auto& table = tables[parameter];
    if (!table) table = std::make_shared<mail::AddressMapTable>(parameter);
    if (!table->enabled(cfg)) return nullptr;
    return [&cfg, t = table](std::string_view address) { return t->find(cfg, address); };
}

namespace {

// Postfix's local_header_rewrite_clients default (permit_inet_interfaces),
// as far as kurir knows it: headers of mail submitted on this host
// (sendmail, local forwarding, an SMTP client on a loopback address) are
// rewritten; those of mail from other SMTP clients are left as they came.
bool header_rewrite_allowed(std::string_view origin, std::string_view client_addr) {
    if (origin != "smtp") return true;
    return client_addr.starts_with("127.") || client_addr == "::1" || client_addr.starts_with("::ffff:127.");
}

}  // namespace

// The envelope sender, each envelope recipient and the addresses in the
// sender and recipient headers, through the canonical tables of their class.
std::expected<void, Refusal> MessageBuilder::rewrite_addresses() {
    if (!rewrite_.canonical && !rewrite_.sender_canonical && !rewrite_.recipient_canonical && !rewrite_.masquerade)
        return {};
    auto fail = [&](const std::string& text) -> std::expected<void, Refusal> {
        log_.push_back(fmt::format("warning: {}: {}", queue_id_, text));
        return std::unexpected(Refusal{'4', "4.3.0", "Temporary lookup failure"});
    };
    unsigned common = 0, sender = 0, recipient = 0;
    for (auto [param, into] : {std::pair<const char*, unsigned*>{"canonical_classes", &common},
                               {"sender_canonical_classes", &sender},
                               {"recipient_canonical_classes", &recipient}}) {
        auto bits = parse_address_classes(cfg_, param);
        if (!bits) return fail(bits.error().text);
        *into = *bits;
    }
    auto map = [&](std::string_view address, AddressClass cls) -> util::Result<std::string> {
        std::string a(address);
        bool is_sender = cls == kEnvelopeSender || cls == kHeaderSender;
        if (is_sender && rewrite_.sender_canonical && (sender & cls)) {
            auto m = map_canonical(a, rewrite_.sender_canonical, "sender_canonical_maps", canon_);
            if (!m) return m;
            a = *m;
        }
        if (!is_sender && rewrite_.recipient_canonical && (recipient & cls)) {
            auto m = map_canonical(a, rewrite_.recipient_canonical, "recipient_canonical_maps", canon_);
            if (!m) return m;
            a = *m;
        }
        if (rewrite_.canonical && (common & cls)) {
            auto m = map_canonical(a, rewrite_.canonical, "canonical_maps", canon_);
            if (!m) return m;
            a = *m;
        }
        if (rewrite_.masquerade) {
            auto m = rewrite_.masquerade(a, cls);
            if (!m) return m;
            a = *m;
        }
        return a;
    };
    if (!sender_.empty()) {
        auto s = map(sender_, kEnvelopeSender);
        if (!s) return fail(s.error().text);
        sender_ = *s;
    }
    for (auto& rc : rcpts_) {
        auto r = map(rc.canonical, kEnvelopeRecipient);
        if (!r) return fail(r.error().text);
        rc.canonical = *r;
    }
    if (!header_rewrite_allowed(attr("origin"), attr("client_addr"))) return {};
    for (auto& h : headers_) {
        auto cls = mail::header_address_class(mail::header_name(h));
        if (cls == mail::HeaderAddressClass::none) continue;
        AddressClass bit = cls == mail::HeaderAddressClass::sender ? kHeaderSender : kHeaderRecipient;
        size_t colon = h.find(':');
        // A header address without a domain is looked up complete, and
        // left as it is when no table changes it.
        auto value = mail::rewrite_address_list(std::string_view(h).substr(colon + 1),
                                                [&](std::string_view a) -> util::Result<std::string> {
                                                    auto full = canon_(a);
                                                    if (!full) return full;
                                                    auto m = map(*full, bit);
                                                    if (!m || *m == *full) return m ? std::string(a) : m;
                                                    return m;
                                                });
        if (!value) return fail(value.error().text);
        std::string rewritten = h.substr(0, colon + 1) + *value;
        size_ += static_cast<long>(rewritten.size()) - static_cast<long>(h.size());
        h = std::move(rewritten);
    }
    return {};
}

}  // namespace kurir::cleanup
