// regexp: and pcre: tables compiled and searched, both engines.
#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "mail/regexp_table.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

using namespace kurir;
using mail::PatternKind;
using mail::RegexpTable;

namespace {

RegexpTable table(std::string_view text, PatternKind kind) {
    auto src = mail::parse_pattern_table(text, kind, "/etc/kurir/t");
    if (!src) FAIL(src.error().text);
    auto t = RegexpTable::compile(std::move(*src));
    if (!t) FAIL(t.error().text);
    return std::move(*t);
}

std::string compile_error(std::string_view text, PatternKind kind) {
    auto src = mail::parse_pattern_table(text, kind, "/etc/kurir/t");
    REQUIRE(src);
    auto t = RegexpTable::compile(std::move(*src));
    REQUIRE_FALSE(t);
    return t.error().text;
}

std::string find(const RegexpTable& t, std::string_view key) {
    auto v = t.lookup(key);
    REQUIRE(v);
    return *v ? **v : "(none)";
}

}  // namespace

TEST_CASE("pattern tables: first match wins, case-insensitive by default, $n", "[tables]") {
    for (auto kind : {PatternKind::regexp, PatternKind::pcre}) {
        CAPTURE(mail::pattern_kind_name(kind));
        auto t = table("/^From: .*@(spam)\\.(example)$/ REJECT from $1 at ${2}!\n"
                       "/^From:/ OK\n"
                       "/^subject: Hello/i WARN exact case\n"
                       "!/@/ DUNNO no at\n",
                       kind);
        CHECK(find(t, "From: joe@SPAM.example") == "REJECT from SPAM at example!");
        CHECK(find(t, "from: joe@ham.example") == "OK");
        CHECK(find(t, "subject: Hello there") == "WARN exact case");
        CHECK(find(t, "Subject: hello there") == "DUNNO no at");
        CHECK(find(t, "x@y") == "(none)");
        CHECK(t.kind() == kind);
        CHECK(t.file() == "/etc/kurir/t");
    }
}

TEST_CASE("pattern tables: if/endif, negated if, nesting", "[tables]") {
    for (auto kind : {PatternKind::regexp, PatternKind::pcre}) {
        CAPTURE(mail::pattern_kind_name(kind));
        auto t = table("if /@example\\.com$/\n"
                       "/^postmaster@/ OK\n"
                       "if !/^a/\n"
                       "/./ REJECT not a\n"
                       "endif\n"
                       "/^a(.*)@/ FOUND $1\n"
                       "endif\n"
                       "/./ OTHER\n",
                       kind);
        CHECK(find(t, "postmaster@example.com") == "OK");
        CHECK(find(t, "bob@example.com") == "REJECT not a");
        CHECK(find(t, "amy@example.com") == "FOUND my");
        CHECK(find(t, "amy@example.org") == "OTHER");
    }
}

TEST_CASE("pattern tables: each engine's flags", "[tables]") {
    auto r = table("/^b.c$/m MULTI\n/a+b/x BASIC\n", PatternKind::regexp);
    CHECK(find(r, "x\nbxc\ny") == "MULTI");
    CHECK(find(r, "a+b") == "BASIC");  // basic syntax: + is a literal
    auto p = table("/^x.y$/ DOTALL\n/^q.r$/s NODOT\n/a b/x EXT\n/^<(.+)>/U UNGREEDY $1\n/z$/E END\n/k/A ANCHORED\n",
                   PatternKind::pcre);
    CHECK(find(p, "x\ny") == "DOTALL");  // s is on by default in pcre: tables
    CHECK(find(p, "q\nr") == "(none)");
    CHECK(find(p, "ab") == "EXT");
    CHECK(find(p, "<a><b>") == "UNGREEDY a");
    CHECK(find(p, "z\n") == "(none)");
    CHECK(find(p, "z") == "END");
    CHECK(find(p, "kk") == "ANCHORED");
    CHECK(find(p, "ok") == "(none)");
}

TEST_CASE("pattern tables: regexp's /pat1/!/pat2/, keys with NUL, groups that matched nothing", "[tables]") {
    auto r = table("/^(a+)/!/b/ ONLY $1\n/^(x)|(y)/ G[$1][$2]\n", PatternKind::regexp);
    CHECK(find(r, "aac") == "ONLY aa");
    CHECK(find(r, "aab") == "(none)");
    CHECK(find(r, "y") == "G[][y]");
    CHECK(find(r, std::string_view("aa\0b", 4)) == "(none)");  // the whole key, past the NUL
    auto p = table("/^(x)|(y)/ G[$1][$2]\n/c$/ C\n", PatternKind::pcre);
    CHECK(find(p, "y") == "G[][y]");
    CHECK(find(p, std::string_view("a\0c", 3)) == "C");
}

TEST_CASE("pattern tables: compile errors and too few groups name file and line", "[tables]") {
    for (auto kind : {PatternKind::regexp, PatternKind::pcre}) {
        CAPTURE(mail::pattern_kind_name(kind));
        CHECK(compile_error("/ok/ x\n/(a)b/ $2\n", kind) ==
              "/etc/kurir/t, line 2: out of range replacement index \"2\" (the pattern has 1 group)");
        CHECK(compile_error("/a/ x\n\n/(/ x\n", kind).starts_with("/etc/kurir/t, line 3: "));
        CHECK(compile_error("if /[/\n/a/ b\nendif\n", kind).starts_with("/etc/kurir/t, line 1: "));
    }
    CHECK(compile_error("/a/!/(/ x\n", PatternKind::regexp).starts_with("/etc/kurir/t, line 1: "));
    CHECK(compile_error("/(/ x\n", PatternKind::pcre).starts_with("/etc/kurir/t, line 1: error in regex at offset"));
}

TEST_CASE("pattern tables load from files; a missing file names it", "[tables]") {
    test::TempDir dir;
    test::spit(dir / "checks", "/^(.*)@bad\\.example$/ REJECT $1 is bad\n");
    auto t = RegexpTable::load(dir / "checks", PatternKind::pcre);
    REQUIRE(t);
    CHECK(find(*t, "joe@bad.example") == "REJECT joe is bad");
    auto missing = RegexpTable::load(dir / "nope", PatternKind::regexp);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().text.find(dir / "nope") != std::string::npos);
    test::spit(dir / "broken", "/a/ ok\n/b x\n");
    auto broken = RegexpTable::load(dir / "broken", PatternKind::regexp);
    REQUIRE_FALSE(broken);
    CHECK(broken.error().text == (dir / "broken") + ", line 2: no closing regexp delimiter \"/\"");
}

TEST_CASE("regexp: and pcre: tables are map lists like the others", "[tables]") {
    test::TempDir dir;
    CHECK(mail::parse_map_spec("regexp:/etc/x")->pattern == PatternKind::regexp);
    CHECK(mail::parse_map_spec("pcre:/etc/x")->table_file() == "/etc/x");
    CHECK(mail::parse_map_spec("hash:/etc/x")->table_file() == "/etc/x.db");
    CHECK(mail::map_matches_whole_key_only("pcre:/x"));
    CHECK(mail::map_matches_whole_key_only("regexp:/x"));
    CHECK_FALSE(mail::map_matches_whole_key_only("hash:/x"));
    test::spit(dir / "r", "/^root@/ ROOT\n");
    test::spit(dir / "p", "/^(.*)@example\\.com$/ USER $1\n");
    auto maps = mail::MapList::open({"regexp:" + (dir / "r"), "pcre:" + (dir / "p")});
    REQUIRE(maps);
    CHECK(maps->warnings().empty());
    CHECK(maps->lookup("root@example.com").value() == std::optional<std::string>("ROOT"));
    CHECK(maps->lookup("amy@example.com").value() == std::optional<std::string>("USER amy"));
    CHECK_FALSE(maps->lookup("amy@example.org").value());

    // A table with an error is a warning (the callers that must answer defer).
    test::spit(dir / "bad", "/ok/ x\n/(a)/ $3\n");
    auto bad = mail::MapList::open({"pcre:" + (dir / "bad")});
    REQUIRE(bad);
    REQUIRE(bad->warnings().size() == 1);
    CHECK(bad->warnings()[0] == (dir / "bad") + ", line 2: out of range replacement index \"3\" (the pattern has 1 "
                                                "group)");
}

TEST_CASE("watched pattern tables are read again when the file changes", "[tables]") {
    test::TempDir dir;
    std::string file = dir / "checks";
    test::spit(file, "/^a/ FIRST\n");
    mail::WatchedMaps watched("check_client_access", {"regexp:" + file});
    auto cfg = *mail::Config::from_text("", dir.path());
    CHECK(watched.get(cfg).lookup("abc").value() == std::optional<std::string>("FIRST"));
    // Rewritten in place: a different size, so a different stamp even
    // within one clock tick.
    test::spit(file, "/^a/ SECOND ONE\n");
    CHECK(watched.get(cfg).lookup("abc").value() == std::optional<std::string>("SECOND ONE"));
    test::spit(file, "/^a/ broken $1\n");
    REQUIRE(watched.get(cfg).warnings().size() == 1);
    CHECK(watched.get(cfg).warnings()[0].find(file + ", line 1: out of range") == 0);
}
