// main.cf syntax, as a pure function over bytes: "name = value" lines,
// continuation lines (leading whitespace), "#" comments, blank lines.
// Values are kept raw; $name expansion happens in Config.
#pragma once

#include "util/result.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

struct MainCfEntry {
    std::string name;
    std::string value;
    int line = 0;
};

// Errors name the file and line: "main.cf:7: missing '=' in \"foo bar\"".
util::Result<std::vector<MainCfEntry>> parse_main_cf(std::string_view text, const std::string& file);

// Expand $name, ${name}, $(name), ${name?text} and ${name:text} against a
// lookup; unknown names expand to "". Errors on unbalanced braces and on
// recursion deeper than 100 levels.
using RawLookup = std::map<std::string, std::string, std::less<>>;
util::Result<std::string> expand_value(std::string_view value, const RawLookup& raw, int depth = 0);
// The same where a name's raw value comes from a function (nullopt: not set).
using RawValueOf = std::function<std::optional<std::string_view>(std::string_view name)>;
util::Result<std::string> expand_value(std::string_view value, const RawValueOf& raw, int depth = 0);

// The text's lines, each with its '\n' (the last may lack one), for editors
// that keep every byte they do not change; and what a line is in main.cf
// and master.cf: 0 comment or blank, 1 start of an entry, 2 continuation.
std::vector<std::string_view> physical_lines(std::string_view text);
int config_line_kind(std::string_view line);

// Rewrites or appends "name = value" in main.cf text, keeping everything else.
std::string edit_main_cf(std::string_view text, const std::string& name, const std::string& value);

// Removes every "name = value" entry (with its continuation lines) from
// main.cf text, as postconf -X; with comment_out, puts "#" before each of
// its lines instead, as postconf -#. Comments and other lines are kept.
std::string remove_main_cf(std::string_view text, const std::string& name, bool comment_out);

}  // namespace kurir::mail
