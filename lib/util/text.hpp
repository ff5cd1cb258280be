// The line structure every Postfix-style configuration file shares (main.cf,
// master.cf, aliases, lookup-table sources): "#" comment lines and blank
// lines are skipped, a line that begins with whitespace continues the
// previous logical line (joined with one space), and each logical line
// remembers the physical line it started on, for error messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kurir::util {

struct LogicalLine {
    std::string text;  // trimmed, continuation lines joined with one space
    int line = 0;      // 1-based physical line where it starts
};

std::vector<LogicalLine> logical_lines(std::string_view text);

// The 1-based line number of the byte at offset.
int line_number_at(std::string_view text, size_t offset);

// Space, tab, CR and LF removed from both ends.
std::string_view trim(std::string_view s);

// ASCII letters made lower case (table keys, domain names, DKIM tags);
// other bytes unchanged, whatever the locale.
std::string lowercase(std::string_view s);

}  // namespace kurir::util
