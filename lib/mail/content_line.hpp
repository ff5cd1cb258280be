// What cleanup makes of every content line before it judges or writes it,
// as pure functions: message_strip_characters and stray CR or LF
// (cleanup_replace_stray_cr_lf). smtpd, which judges the header lines of
// the same content on their way to cleanup (DKIM, our own
// Authentication-Results), must see them as cleanup will.
#pragma once

#include <string>
#include <string_view>

namespace kurir::mail {

// message_strip_characters as Postfix reads it: a backslash before a, b, f,
// n, r, t, v or a backslash, or before up to three octal digits (so "\0" is
// NUL), is an escape; anything else is itself.
std::string parse_strip_characters(std::string_view text);

// A CR or LF left inside a content line becomes a space, so no "<CR>.<CR>"
// or "<LF>.<LF>" in a line can ever look like an end of data to a next hop.
void mask_stray_cr_lf(std::string& text);

// data without the characters of strip (message_strip_characters, parsed):
// cleanup's, and smtpd's for the header lines it judges before cleanup.
std::string strip_characters(std::string_view data, std::string_view strip);

}  // namespace kurir::mail
