// RFC 5322 address lists in header values (To:, Cc:, Bcc:), as a pure
// function: display names, angle addresses, groups, comments and quoted
// strings are understood; each mailbox comes out in internal form. Used by
// cleanup to extract recipients for "sendmail -t".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

// Never fails: what cannot be parsed as an address is skipped.
std::vector<std::string> parse_address_list(std::string_view value);

}  // namespace kurir::mail
