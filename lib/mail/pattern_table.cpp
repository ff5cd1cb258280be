#include "mail/pattern_table.hpp"

#include "util/text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kurir::mail {
namespace {

constexpr int kMaxGroup = 9999;  // more than either engine allows

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class LineParser {
public:
    LineParser(PatternKind kind, const std::string& file, int line) : kind_(kind), file_(file), line_(line) {}

    std::unexpected<util::Error> error(std::string_view what) const {
        return util::fail(fmt::format("{}, line {}: {}", file_, line_, what));
    }

    void skip_space(std::string_view& p) const {
        while (!p.empty() && is_space(p.front())) p.remove_prefix(1);
    }

    // "!"s and whitespace, the delimited pattern, its flags.
    util::Result<Pattern> pattern(std::string_view& p) const {
        Pattern pat;
        while (!p.empty() && (p.front() == '!' || is_space(p.front()))) {
            if (p.front() == '!') pat.negated = !pat.negated;
            p.remove_prefix(1);
        }
        if (p.empty()) return error("no regexp");
        char delim = p.front();
        if (is_alnum(delim)) return error(fmt::format("bad regexp delimiter \"{}\"", delim));
        p.remove_prefix(1);
        size_t i = 0;
        for (; i < p.size() && p[i] != delim; ++i)
            if (p[i] == '\\') ++i;  // an escaped delimiter; a trailing backslash runs off the end
        if (i >= p.size()) return error(fmt::format("no closing regexp delimiter \"{}\"", delim));
        pat.regex = std::string(p.substr(0, i));
        p.remove_prefix(i + 1);
        if (kind_ == PatternKind::pcre) {
            pat.flags.extended = false;
            pat.flags.dotall = true;
        }
        auto& f = pat.flags;
        while (!p.empty() && !is_space(p.front()) && !(kind_ == PatternKind::regexp && p.front() == '!')) {
            char c = p.front();
            p.remove_prefix(1);
            if (c == 'i') {
                f.icase = !f.icase;
            } else if (c == 'm') {
                f.multiline = !f.multiline;
            } else if (c == 'x') {
                f.extended = !f.extended;
            } else if (kind_ == PatternKind::pcre && c == 's') {
                f.dotall = !f.dotall;
            } else if (kind_ == PatternKind::pcre && c == 'A') {
                f.anchored = !f.anchored;
            } else if (kind_ == PatternKind::pcre && c == 'E') {
                f.dollar_endonly = !f.dollar_endonly;
            } else if (kind_ == PatternKind::pcre && c == 'U') {
                f.ungreedy = !f.ungreedy;
            } else if (kind_ == PatternKind::pcre && c == 'X') {
                // PCRE_EXTRA: gone in PCRE2; Postfix ignores it too.
            } else {
                return error(fmt::format("unknown regexp option \"{}\"", c));
            }
        }
        return pat;
    }

    // $n, ${n}, $(n) and $$ in a result, as Postfix's mac_parse reads
    // them: "$" before anything else is itself.
    util::Result<std::vector<ResultPart>> result(std::string_view p, int& max_group) const {
        std::vector<ResultPart> parts;
        auto literal = [&](std::string_view s) {
            if (s.empty()) return;
            if (parts.empty() || parts.back().group != 0) parts.push_back({});
            parts.back().text += s;
        };
        auto group = [&](std::string_view name) -> util::Result<void> {
            if (name.empty() || name.size() > 4 || !std::all_of(name.begin(), name.end(), is_digit))
                return error(fmt::format("non-numeric replacement index \"{}\"", name));
            int n = std::stoi(std::string(name));
            if (n < 1 || n > kMaxGroup) return error(fmt::format("out of range replacement index \"{}\"", name));
            parts.push_back({{}, n});
            max_group = std::max(max_group, n);
            return {};
        };
        while (!p.empty()) {
            size_t dollar = p.find('$');
            literal(p.substr(0, dollar));
            if (dollar == std::string_view::npos) break;
            p.remove_prefix(dollar + 1);
            if (p.empty()) {
                literal("$");
                break;
            }
            char c = p.front();
            if (c == '$') {
                literal("$");
                p.remove_prefix(1);
            } else if (c == '{' || c == '(') {
                size_t close = p.find(c == '{' ? '}' : ')');
                if (close == std::string_view::npos) return error(fmt::format("unbalanced \"{}\" in result", c));
                if (auto g = group(p.substr(1, close - 1)); !g) return std::unexpected(g.error());
                p.remove_prefix(close + 1);
            } else if (is_alnum(c) || c == '_') {
                size_t end = 0;
                while (end < p.size() && (is_alnum(p[end]) || p[end] == '_')) ++end;
                if (auto g = group(p.substr(0, end)); !g) return std::unexpected(g.error());
                p.remove_prefix(end);
            } else {
                literal("$");
            }
        }
        return parts;
    }

    // Case-insensitive keyword at the start of p, not followed by a letter
    // or digit.
    static bool keyword(std::string_view p, std::string_view word) {
        if (p.size() < word.size()) return false;
        for (size_t i = 0; i < word.size(); ++i)
            if ((p[i] | 0x20) != word[i]) return false;
        return p.size() == word.size() || !is_alnum(p[word.size()]);
    }

private:
    PatternKind kind_;
    const std::string& file_;
    int line_;
};

}  // namespace

std::string_view pattern_kind_name(PatternKind kind) { return kind == PatternKind::pcre ? "pcre" : "regexp"; }

util::Result<PatternTableSource> parse_pattern_table(std::string_view text, PatternKind kind,
                                                     const std::string& file) {
    if (text.find('\0') != std::string_view::npos) return util::fail(file + ": contains a NUL byte");
    PatternTableSource table;
    table.kind = kind;
    table.file = file;
    std::vector<size_t> open_ifs;
    for (const auto& l : util::logical_lines(text)) {
        LineParser lp(kind, file, l.line);
        std::string_view p = l.text;
        PatternRule rule;
        rule.line = l.line;
        if (!is_alnum(p.front())) {
            auto first = lp.pattern(p);
            if (!first) return std::unexpected(first.error());
            rule.pattern = std::move(*first);
            if (kind == PatternKind::regexp && !p.empty() && p.front() == '!') {
                auto second = lp.pattern(p);
                if (!second) return std::unexpected(second.error());
                rule.second = std::move(*second);
            }
            lp.skip_space(p);
            if (p.empty()) return lp.error("no replacement text");
            auto result = lp.result(p, rule.max_group);
            if (!result) return std::unexpected(result.error());
            rule.result = std::move(*result);
            if (rule.max_group > 0 && rule.pattern.negated)
                return lp.error("$number found in negative match replacement text");
        } else if (LineParser::keyword(p, "if")) {
            p.remove_prefix(2);
            lp.skip_space(p);
            auto pat = lp.pattern(p);
            if (!pat) return std::unexpected(pat.error());
            lp.skip_space(p);
            if (!p.empty())
                return lp.error(fmt::format("extra text after IF statement: \"{}\" (do not prepend whitespace to "
                                            "statements between IF and ENDIF)",
                                            p));
            rule.op = PatternRule::Op::if_;
            rule.pattern = std::move(*pat);
            open_ifs.push_back(table.rules.size());
        } else if (LineParser::keyword(p, "endif")) {
            p.remove_prefix(5);
            lp.skip_space(p);
            if (open_ifs.empty()) return lp.error("ENDIF without matching IF");
            if (!p.empty()) return lp.error(fmt::format("extra text after ENDIF: \"{}\"", p));
            rule.op = PatternRule::Op::endif;
            table.rules[open_ifs.back()].endif = table.rules.size();
            open_ifs.pop_back();
        } else {
            return lp.error("unrecognized request (want /pattern/ result, if /pattern/ or endif)");
        }
        table.rules.push_back(std::move(rule));
    }
    if (!open_ifs.empty())
        return util::fail(fmt::format("{}, line {}: IF has no matching ENDIF", file, table.rules[open_ifs.back()].line));
    return table;
}

}  // namespace kurir::mail
