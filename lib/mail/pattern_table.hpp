// The source of regexp: and pcre: lookup tables (Postfix's regexp_table(5)
// and pcre_table(5)), as a pure parser over bytes: no regex engine is
// involved here (mail/regexp_table.hpp compiles what this returns).
//
//   /pattern/flags result        the result when pattern matches the key
//   !/pattern/flags result       ... when it does not match
//   /pat1/!/pat2/ result         regexp only: pat1 matches, pat2 does not
//   if /pattern/flags            the rules up to the matching endif apply
//   if !/pattern/flags           only when the key matches (does not match)
//   endif
//
// Any character that is not a letter or digit may delimit a pattern
// ("#pattern#"); a backslash escapes the delimiter (the backslash stays in
// the pattern). Flags toggle: regexp i (case-insensitive, default on),
// m (REG_NEWLINE), x (extended syntax, default on); pcre i (on), m, s
// (dot matches newline, default on), x, A (anchored), E (dollar matches
// only at the end), U (ungreedy), X (obsolete, ignored). "#" comments,
// blank lines and continuation lines (led by whitespace) as every Postfix
// table. The result may use $1..$n, ${n}, $(n) for the text a group matched
// and $$ for "$". Every error names the file and line:
// "/etc/kurir/header_checks, line 3: no closing regexp delimiter "/"".
// Postfix skips such a rule with a warning; kurir refuses the table, so a
// table that does not say what its author meant is never half applied.
#pragma once

#include "util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

enum class PatternKind { regexp, pcre };

// "regexp" or "pcre": the table type, also the word Postfix's messages use
// ("regexp map /x, line 3: ...").
std::string_view pattern_kind_name(PatternKind kind);

struct PatternFlags {
    bool icase = true;
    bool extended = true;    // regexp: ERE (x toggles to BRE); pcre: x (default off)
    bool multiline = false;  // m
    bool dotall = false;     // pcre s (default on)
    bool anchored = false;   // pcre A
    bool dollar_endonly = false;  // pcre E
    bool ungreedy = false;   // pcre U
};

struct Pattern {
    std::string regex;  // between the delimiters, escapes as written
    bool negated = false;
    PatternFlags flags;
};

// A piece of a result: literal text, or the text of group n (n >= 1).
struct ResultPart {
    std::string text;
    int group = 0;
};

struct PatternRule {
    enum class Op { match, if_, endif };
    Op op = Op::match;
    int line = 0;  // where the logical line starts
    Pattern pattern;
    std::optional<Pattern> second;  // regexp's /pat1/!/pat2/
    std::vector<ResultPart> result;  // match rules
    int max_group = 0;               // the highest $n in result
    size_t endif = 0;                // if: the index of its endif rule
};

struct PatternTableSource {
    PatternKind kind = PatternKind::regexp;
    std::string file;
    std::vector<PatternRule> rules;
};

// The rules of a table, or the first error ("FILE, line N: ...").
util::Result<PatternTableSource> parse_pattern_table(std::string_view text, PatternKind kind,
                                                     const std::string& file);

// The result of a rule with the groups filled in; groups(n) gives the text
// group n matched (empty when it matched nothing).
template <class Groups>
std::string expand_result(const std::vector<ResultPart>& parts, Groups&& groups) {
    std::string out;
    for (const auto& p : parts) {
        if (p.group == 0)
            out += p.text;
        else
            out += groups(p.group);
    }
    return out;
}

}  // namespace kurir::mail
