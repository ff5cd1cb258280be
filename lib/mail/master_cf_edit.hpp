// master.cf as postconf -M, -F and -P show and edit it, as pure functions
// over text: the raw fields of each entry ("-" stays "-"), Postfix's
// layout for printing an entry, and edits that replace an entry's lines
// in place, keeping every comment and every other entry as it was.
//
// Field names (-F): service type private unprivileged chroot wakeup
// process_limit command (the command with its arguments). Patterns
// (service[/type[/name]]) match a part exactly or with "*"; a missing part
// matches anything.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::mail {

struct MasterCfText {
    std::vector<std::string> fields;  // service type private unpriv chroot wakeup maxproc command args...
    size_t first_line = 0;            // 0-based physical lines the entry spans
    size_t last_line = 0;
};

// The entries of master.cf text. Lines that begin with whitespace continue
// the entry before them; comments and blank lines belong to no entry.
std::vector<MasterCfText> split_master_cf(std::string_view text);

// One entry as postconf -M prints it: the first seven fields at columns 0,
// 11, 17, 25, 33, 41, 49, the command at 57 (at least one space apart);
// with fold (-Mf) the line is broken before 80 columns, and each
// "-o name=value" goes on a line of its own, indented by four spaces.
std::string format_master_entry(const std::vector<std::string>& fields, bool fold);

inline constexpr std::string_view kMasterFieldNames[] = {"service", "type",    "private",       "unprivileged",
                                                        "chroot",  "wakeup", "process_limit", "command"};
std::optional<size_t> master_field_index(std::string_view name);
// "service/type/field = value" (the command field with its arguments).
std::string format_master_field(const std::vector<std::string>& fields, size_t field);

// The "-o name=value" settings among the daemon options (those before the
// first non-option argument), sorted by name, as postconf -P prints them.
std::vector<std::pair<std::string, std::string>> master_params(const std::vector<std::string>& fields);

// Edits of one entry's fields, as postconf's: set replaces "-o name=..."
// or adds it after the other daemon options; remove drops it (false when
// it was not there).
void set_master_param(std::vector<std::string>& fields, const std::string& name, const std::string& value);
bool remove_master_param(std::vector<std::string>& fields, const std::string& name);
// The command field takes the command and its arguments (split at blanks).
void set_master_field(std::vector<std::string>& fields, size_t field, std::string_view value);

// "a/b/c" matched against a pattern part by part.
bool master_pattern_match(std::string_view pattern_part, std::string_view value);
std::vector<std::string> split_pattern(std::string_view pattern);  // at '/'

// The text with entry `which` replaced by `fields` (folded, as postconf
// writes an entry it edited), or removed when fields is empty.
std::string replace_master_entry(std::string_view text, const MasterCfText& which,
                                 const std::vector<std::string>& fields);

}  // namespace kurir::mail
