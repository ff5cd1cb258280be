// RFC 5321 mail addresses, as pure functions over bytes.
//
// Addresses are kept in internal form: the local part unquoted ("john doe@x"
// for "\"john doe\"@x"); quote_address() gives the external form again.
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>

namespace kurir::mail {

inline constexpr size_t kMaxAddress = 254;

// Parses a reverse- or forward-path as it follows "MAIL FROM:" or "RCPT TO:"
// ("<a@b>", "<>", "<@relay,@relay:a@b>" (route dropped), or "a@b" without
// brackets). The rest of the text (ESMTP parameters) is returned in rest.
struct ParsedPath {
    std::string address;  // internal form; empty for <>
    std::string_view rest;
};
util::Result<ParsedPath> parse_path(std::string_view text);

// Validates a bare address "local@domain" or "local" (internal or external
// form accepted) and returns its internal form.
util::Result<std::string> parse_address(std::string_view text);

std::string quote_address(std::string_view internal);
std::string_view local_part(std::string_view internal);  // before the last '@'
std::string_view domain_part(std::string_view internal);  // after the last '@', or ""
std::string lowercase(std::string_view s);

// A local part that may name a mailbox file or directory: no '/', no NUL or
// control characters, not empty, no leading '.', and never "..".
bool safe_mailbox_name(std::string_view local);

}  // namespace kurir::mail
