#include "trivial-rewrite/trivial_rewrite_service.hpp"

#include "mail/mail_proto.hpp"
#include "mail/resolve.hpp"
#include "mail/sender_relayhost.hpp"
#include "util/log.hpp"

namespace kurir::trivial_rewrite {

util::Result<util::Attrs> answer(const mail::Config& cfg, Tables& tables, const util::Attrs& frame) {
    using namespace mail::proto;
    auto req = decode_rewrite_request(frame);
    if (!req) return std::unexpected(req.error());
    if (req->kind == RewriteRequest::Kind::rewrite) return encode(RewriteReply{mail::canonical_address(cfg, req->address)});
    auto relay_domains = tables.relay_domains.get(cfg);
    auto virtual_domains = tables.virtual_mailbox_domains.get(cfg);
    util::Result<std::optional<std::string>> relayhost = std::nullopt;
    if (!cfg.str("sender_dependent_relayhost_maps").empty())
        relayhost = mail::sender_dependent_relayhost(tables.sender_relayhost_maps.get(cfg), req->sender,
                                                     cfg.str("empty_address_relayhost_maps_lookup_key"));
    auto alias_domains = tables.virtual_alias_domains.get(cfg);
    util::Result<mail::Resolved> r = util::fail("");
    if (!alias_domains)
        r = std::unexpected(alias_domains.error());
    else if (!relay_domains)
        r = std::unexpected(relay_domains.error());
    else if (!virtual_domains)
        r = std::unexpected(virtual_domains.error());
    else if (!relayhost)
        r = std::unexpected(relayhost.error());
    else
        r = mail::resolve_address(cfg, req->address, &tables.transport_maps.get(cfg), *relay_domains,
                                  *virtual_domains, *alias_domains, *relayhost ? &**relayhost : nullptr);
    if (!r) {
        util::msg_warn("resolve <{}>: {}", req->address, r.error().text);
        return encode(ResolveReply{r.error().text, "", "", "", ""});
    }
    return encode(ResolveReply{"", r->transport, r->nexthop, r->recipient, r->flags});
}

}  // namespace kurir::trivial_rewrite
