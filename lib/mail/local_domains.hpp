// mydestination as Postfix reads it: names, and also "/file/name" patterns
// and "type:table" lookup tables (a domain that is a key is local), as in
//   mydestination = $myhostname, localhost, lmdb:/etc/kurir/domains
// A name matches itself only (mydestination is not in Postfix's
// parent_domain_matches_subdomains); ".name" matches its subdomains.
#pragma once

#include "mail/config.hpp"
#include "util/result.hpp"

#include <string_view>

namespace kurir::mail {

// Whether domain is a local destination; an error when a table cannot
// answer (the caller defers, never treats the domain as remote).
util::Result<bool> local_domain_matches(const Config& cfg, std::string_view domain);

}  // namespace kurir::mail
