// trivial-rewrite's service: one rewrite-request frame in, one rewrite-reply
// or resolve-reply frame out (mail/mail_proto.hpp). A frame that is not a
// well-formed rewrite-request is an error naming what is wrong; the caller
// logs it and closes the connection.
#pragma once

#include "mail/config.hpp"
#include "mail/domain_list.hpp"
#include "mail/maps.hpp"
#include "util/attr.hpp"
#include "util/result.hpp"

namespace kurir::trivial_rewrite {

// The tables a resolve consults, reopened when rebuilt or renamed.
struct Tables {
    mail::WatchedMaps transport_maps{"transport_maps"};
    mail::WatchedDomainList relay_domains{"relay_domains"};
    mail::WatchedDomainList virtual_mailbox_domains{"virtual_mailbox_domains", false};
    mail::WatchedMaps sender_relayhost_maps{"sender_dependent_relayhost_maps"};
    mail::WatchedDomainList virtual_alias_domains{"virtual_alias_domains", false};
};

util::Result<util::Attrs> answer(const mail::Config& cfg, Tables& tables, const util::Attrs& frame);

}  // namespace kurir::trivial_rewrite
