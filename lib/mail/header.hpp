// Message header lines, as pure functions: is a line a header (name ":"),
// a continuation, or the end of the header block; the header name.
#pragma once

#include <cstddef>
#include <string_view>

namespace kurir::mail {

// The longest field name (a line's length limit in RFC 5322): a line whose
// colon comes later is not a header field, so that a line's first kilobyte
// always says whether it is one (smtpd judges header lines by that much).
inline constexpr size_t kMaxHeaderName = 998;

// The field name of a header line "Name: value", or "" when the line is not
// a header (no colon, a name longer than kMaxHeaderName, or characters not
// allowed in a field name).
std::string_view header_name(std::string_view line);
bool is_continuation(std::string_view line);
bool header_is(std::string_view line, std::string_view name);  // case-insensitive

}  // namespace kurir::mail
