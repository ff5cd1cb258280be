// Message header lines, as pure functions: is a line a header (name ":"),
// a continuation, or the end of the header block; the header name.
#pragma once

#include <string_view>

namespace kurir::mail {

// The field name of a header line "Name: value", or "" when the line is not
// a header (no colon, or characters not allowed in a field name).
std::string_view header_name(std::string_view line);
bool is_continuation(std::string_view line);
bool header_is(std::string_view line, std::string_view name);  // case-insensitive

}  // namespace kurir::mail
