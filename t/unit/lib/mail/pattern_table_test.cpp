// The regexp:/pcre: table source parser alone (no regex engine).
#include "mail/pattern_table.hpp"

#include <catch2/catch.hpp>

using namespace kurir;
using mail::PatternKind;
using mail::PatternRule;

namespace {

mail::PatternTableSource parsed(std::string_view text, PatternKind kind = PatternKind::regexp) {
    auto t = mail::parse_pattern_table(text, kind, "/etc/kurir/checks");
    if (!t) FAIL(t.error().text);
    return *t;
}

std::string error_of(std::string_view text, PatternKind kind = PatternKind::regexp) {
    auto t = mail::parse_pattern_table(text, kind, "/etc/kurir/checks");
    REQUIRE_FALSE(t);
    return t.error().text;
}

std::string result_text(const std::vector<mail::ResultPart>& parts) {
    return mail::expand_result(parts, [](int n) { return "<" + std::to_string(n) + ">"; });
}

}  // namespace

TEST_CASE("pattern table: rules, delimiters, negation, comments, continuation lines", "[tables]") {
    auto t = parsed("# a comment\n"
                    "/^From: .*spam/ REJECT no spam\n"
                    "\n"
                    "   # indented comment\n"
                    "!/^Subject:/ WARN\n"
                    "  no subject\n"
                    "%a\\%b%  OK\n"
                    "/a\\/b/ OK\n"
                    "!!/twice/ DUNNO\n");
    REQUIRE(t.rules.size() == 5);
    CHECK(t.rules[0].line == 2);
    CHECK(t.rules[0].pattern.regex == "^From: .*spam");
    CHECK_FALSE(t.rules[0].pattern.negated);
    CHECK(result_text(t.rules[0].result) == "REJECT no spam");
    CHECK(t.rules[1].line == 5);
    CHECK(t.rules[1].pattern.negated);
    CHECK(result_text(t.rules[1].result) == "WARN no subject");
    CHECK(t.rules[2].pattern.regex == "a\\%b");  // the escape stays, as Postfix passes it on
    CHECK(t.rules[3].pattern.regex == "a\\/b");
    CHECK_FALSE(t.rules[4].pattern.negated);
    CHECK(t.kind == PatternKind::regexp);
    CHECK(t.file == "/etc/kurir/checks");
}

TEST_CASE("pattern table: flags toggle each type's defaults", "[tables]") {
    auto r = parsed("/a/ x\n/a/i x\n/a/mx x\n");
    CHECK(r.rules[0].pattern.flags.icase);
    CHECK(r.rules[0].pattern.flags.extended);
    CHECK_FALSE(r.rules[0].pattern.flags.multiline);
    CHECK_FALSE(r.rules[1].pattern.flags.icase);
    CHECK(r.rules[2].pattern.flags.multiline);
    CHECK_FALSE(r.rules[2].pattern.flags.extended);
    CHECK(error_of("/a/s x\n") == "/etc/kurir/checks, line 1: unknown regexp option \"s\"");

    auto p = parsed("/a/ x\n/a/isxmAEUX x\n", PatternKind::pcre);
    CHECK(p.rules[0].pattern.flags.icase);
    CHECK(p.rules[0].pattern.flags.dotall);
    CHECK_FALSE(p.rules[0].pattern.flags.extended);
    const auto& f = p.rules[1].pattern.flags;
    CHECK_FALSE(f.icase);
    CHECK_FALSE(f.dotall);
    CHECK(f.extended);
    CHECK(f.multiline);
    CHECK(f.anchored);
    CHECK(f.dollar_endonly);
    CHECK(f.ungreedy);
    CHECK(error_of("/a/q x\n", PatternKind::pcre) == "/etc/kurir/checks, line 1: unknown regexp option \"q\"");
}

TEST_CASE("pattern table: regexp's second pattern, pcre has none", "[tables]") {
    auto r = parsed("/^a/!/b$/ both\n/x/i!!/y/ z\n");
    REQUIRE(r.rules[0].second);
    CHECK(r.rules[0].second->regex == "b$");
    CHECK(r.rules[0].second->negated);
    CHECK(result_text(r.rules[0].result) == "both");
    CHECK_FALSE(r.rules[1].second->negated);
    // For pcre "!" after the flags is an unknown flag.
    CHECK(error_of("/^a/!/b/ c\n", PatternKind::pcre) == "/etc/kurir/checks, line 1: unknown regexp option \"!\"");
}

TEST_CASE("pattern table: if/endif nesting, if !/pattern/", "[tables]") {
    auto t = parsed("if /^a/\n"
                    "/b/ one\n"
                    "IF !/c/\n"
                    "/d/ two\n"
                    "endif\n"
                    "ENDIF\n"
                    "/e/ three\n");
    REQUIRE(t.rules.size() == 7);
    CHECK(t.rules[0].op == PatternRule::Op::if_);
    CHECK(t.rules[0].endif == 5);
    CHECK(t.rules[2].op == PatternRule::Op::if_);
    CHECK(t.rules[2].pattern.negated);
    CHECK(t.rules[2].endif == 4);
    CHECK(t.rules[4].op == PatternRule::Op::endif);
    CHECK(t.rules[6].op == PatternRule::Op::match);

    CHECK(error_of("if /a/\n/b/ c\n") == "/etc/kurir/checks, line 1: IF has no matching ENDIF");
    CHECK(error_of("/b/ c\nendif\n") == "/etc/kurir/checks, line 2: ENDIF without matching IF");
    CHECK(error_of("if /a/\nendif extra\n") == "/etc/kurir/checks, line 2: extra text after ENDIF: \"extra\"");
    // A rule indented under if continues the if line: Postfix warns, kurir refuses.
    CHECK(error_of("if /a/\n  /b/ c\nendif\n").starts_with(
        "/etc/kurir/checks, line 1: extra text after IF statement: \"/b/ c\""));
    CHECK(error_of("iffy /a/ b\n") == "/etc/kurir/checks, line 1: unrecognized request (want /pattern/ result, "
                                      "if /pattern/ or endif)");
}

TEST_CASE("pattern table: $n, ${n}, $(n) and $$ in results", "[tables]") {
    auto t = parsed("/(a)(b)/ x$1 ${2}y $(1)z $$ cost$ 5$\n");
    CHECK(t.rules[0].max_group == 2);
    CHECK(result_text(t.rules[0].result) == "x<1> <2>y <1>z $ cost$ 5$");
    CHECK(parsed("/a/ plain\n").rules[0].max_group == 0);
    // $1x is the name "1x" (Postfix: write ${1}x).
    CHECK(error_of("/(a)/ $1x\n") == "/etc/kurir/checks, line 1: non-numeric replacement index \"1x\"");
    CHECK(error_of("/(a)/ ${one}\n") == "/etc/kurir/checks, line 1: non-numeric replacement index \"one\"");
    CHECK(error_of("/(a)/ $0\n") == "/etc/kurir/checks, line 1: out of range replacement index \"0\"");
    CHECK(error_of("/(a)/ ${1\n") == "/etc/kurir/checks, line 1: unbalanced \"{\" in result");
    CHECK(error_of("!/(a)/ $1\n") ==
          "/etc/kurir/checks, line 1: $number found in negative match replacement text");
}

TEST_CASE("pattern table: errors name file and line", "[tables]") {
    CHECK(error_of("/ok/ x\n\n/unclosed x\n") == "/etc/kurir/checks, line 3: no closing regexp delimiter \"/\"");
    CHECK(error_of("/a/\n") == "/etc/kurir/checks, line 1: no replacement text");
    CHECK(error_of("!!\n") == "/etc/kurir/checks, line 1: no regexp");
    CHECK(error_of("/a\\") == "/etc/kurir/checks, line 1: no closing regexp delimiter \"/\"");
    CHECK(error_of(std::string_view("/a/ b\0", 6)) == "/etc/kurir/checks: contains a NUL byte");
    CHECK(parsed("").rules.empty());
    CHECK(parsed("\n# only comments\n\n").rules.empty());
}
