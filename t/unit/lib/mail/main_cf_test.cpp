#include "mail/main_cf.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

namespace {
struct Expected {
    std::string name, value;
    int line;
};

void check_entries(const std::vector<MainCfEntry>& got, const std::vector<Expected>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        INFO("entry " << i);
        CHECK(got[i].name == want[i].name);
        CHECK(got[i].value == want[i].value);
        CHECK(got[i].line == want[i].line);
    }
}
}  // namespace

TEST_CASE("parse_main_cf: names, values, comments, blank lines and continuations", "[main_cf]") {
    struct Case {
        const char* what;
        std::string text;
        std::vector<Expected> want;
    };
    std::vector<Case> cases = {
        {"empty text", "", {}},
        {"only comments and blank lines", "# a = b\n\n   \n\t\n# x\n", {}},
        {"simple", "a = 1\nb=2\n", {{"a", "1", 1}, {"b", "2", 2}}},
        {"no final newline", "a = 1\nb = 2", {{"a", "1", 1}, {"b", "2", 2}}},
        {"comments and blanks keep line numbers", "# top\n\na = 1\n# mid\n\nb = 2\n",
         {{"a", "1", 3}, {"b", "2", 6}}},
        {"whitespace trimmed around name and value", "  \na\t=\t  x y  \t\n", {{"a", "x y", 2}}},
        {"CRLF line ends", "a = 1\r\nb = 2\r\n", {{"a", "1", 1}, {"b", "2", 2}}},
        {"empty value", "local_recipient_maps =\n", {{"local_recipient_maps", "", 1}}},
        {"'=' inside the value", "a = b=c = d\n", {{"a", "b=c = d", 1}}},
        {"continuation lines join with one space", "a = x\n  y\n\tz\nb = 2\n",
         {{"a", "x y z", 1}, {"b", "2", 4}}},
        {"a comment does not end an entry", "a = x\n# note\n  y\n", {{"a", "x y", 1}}},
        {"a blank line does not end an entry", "a = x\n\n  y\n", {{"a", "x y", 1}}},
        {"names with dots, dashes, digits", "x.y-z_1 = v\n", {{"x.y-z_1", "v", 1}}},
        {"repeated names are all kept in order", "a = 1\na = 2\n", {{"a", "1", 1}, {"a", "2", 2}}},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            auto r = parse_main_cf(c.text, "/etc/kurir/main.cf");
            REQUIRE(r);
            check_entries(*r, c.want);
        }
    }
}

TEST_CASE("parse_main_cf: errors name the file and line", "[main_cf]") {
    struct Case {
        const char* what;
        std::string text;
        std::string where;
        std::string why;
    };
    std::vector<Case> cases = {
        {"missing '='", "a = 1\nfoo bar\n", "/etc/kurir/main.cf:2:", "missing '='"},
        {"missing '=' after comments", "# c\n\n\nfoo\n", "/etc/kurir/main.cf:4:", "missing '='"},
        {"missing '=' reported at the start of a continued entry", "a = 1\nfoo\n  bar\n",
         "/etc/kurir/main.cf:2:", "missing '='"},
        {"space in name", "a b = 1\n", "/etc/kurir/main.cf:1:", "bad parameter name"},
        {"empty name", "= 1\n", "/etc/kurir/main.cf:1:", "bad parameter name"},
        {"'$' in name", "x = 1\nna$me = 1\n", "/etc/kurir/main.cf:2:", "bad parameter name"},
        {"leading whitespace on the first entry", "  = 1\n", "/etc/kurir/main.cf:1:", "bad parameter name"},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            auto r = parse_main_cf(c.text, "/etc/kurir/main.cf");
            REQUIRE(!r);
            CHECK_THAT(r.error().text, Catch::Contains(c.where));
            CHECK_THAT(r.error().text, Catch::Contains(c.why));
        }
    }
}

TEST_CASE("parse_main_cf: a NUL byte is an error naming the file", "[main_cf]") {
    std::string text("a = 1\nb = x\0y\n", 13);
    REQUIRE(text.size() == 13);
    auto r = parse_main_cf(text, "/etc/kurir/main.cf");
    REQUIRE(!r);
    CHECK_THAT(r.error().text, Catch::Contains("/etc/kurir/main.cf"));
    CHECK_THAT(r.error().text, Catch::Contains("NUL"));
}

// The header promises errors name file and line; the NUL error names only the file.
TEST_CASE("parse_main_cf: a NUL byte error names the line", "[main_cf]") {
    std::string text("a = 1\nb = x\0y\n", 13);
    auto r = parse_main_cf(text, "/etc/kurir/main.cf");
    REQUIRE(!r);
    CHECK_THAT(r.error().text, Catch::Contains("/etc/kurir/main.cf:2"));
}

TEST_CASE("expand_value: $name forms, conditionals and $$", "[main_cf]") {
    RawLookup raw{{"a", "A"},     {"b", "$a-x"},      {"empty", ""},  {"host", "mx.example"},
                  {"dom", "example"}, {"cond", "${a?yes}"}, {"a_b", "AB"}};
    struct Case {
        std::string in, out;
    };
    std::vector<Case> cases = {
        {"", ""},
        {"plain text", "plain text"},
        {"$a", "A"},
        {"${a}", "A"},
        {"$(a)", "A"},
        {"x$a.y", "xA.y"},
        {"$b", "A-x"},                         // values expand recursively
        {"$a_b", "AB"},                        // '_' belongs to the name
        {"$unknown", ""},                      // unknown names expand to ""
        {"<${unknown}>", "<>"},
        {"$$", "$"},
        {"$$a", "$a"},
        {"cost $", "cost $"},                  // a lone '$' at the end stays
        {"$-x", "$-x"},                        // '$' not followed by a name stays
        {"${a?yes}", "yes"},
        {"${empty?yes}", ""},
        {"${unknown?yes}", ""},
        {"${a:no}", ""},
        {"${empty:no}", "no"},
        {"${unknown:no}", "no"},
        {"$(a?yes)", "yes"},
        {"$(empty:no)", "no"},
        {"${a?$host}", "mx.example"},          // the alternative text is expanded
        {"${empty:localhost.$dom}", "localhost.example"},
        {"${a?{x}}", "{x}"},                   // nested braces balance
        {"$cond", "yes"},
        {"$host, localhost.$dom, localhost", "mx.example, localhost.example, localhost"},
    };
    for (const auto& c : cases) {
        INFO("input: " << c.in);
        auto r = expand_value(c.in, raw);
        REQUIRE(r);
        CHECK(*r == c.out);
    }
}

TEST_CASE("expand_value: unbalanced braces are errors", "[main_cf]") {
    RawLookup raw{{"a", "A"}, {"bad", "${a"}};
    for (std::string in : std::vector<std::string>{"${a", "$(a", "x ${a?y", "${a?{y}", "$bad", "${a?$bad}"}) {
        INFO("input: " << in);
        auto r = expand_value(in, raw);
        REQUIRE(!r);
        CHECK_THAT(r.error().text, Catch::Contains("unbalanced"));
    }
}

TEST_CASE("expand_value: recursion is stopped with an error", "[main_cf]") {
    RawLookup raw{{"self", "$self"}, {"x", "1$y"}, {"y", "2$x"}, {"alt", "${alt?$alt}z"}};
    for (std::string in : std::vector<std::string>{"$self", "${self}", "$x", "pre $y post", "$alt"}) {
        INFO("input: " << in);
        auto r = expand_value(in, raw);
        REQUIRE(!r);
        CHECK_THAT(r.error().text, Catch::Contains("too deep"));
    }
    // A deep but finite chain is fine.
    RawLookup chain;
    for (int i = 0; i < 60; ++i) chain["p" + std::to_string(i)] = "$p" + std::to_string(i + 1);
    chain["p60"] = "end";
    auto r = expand_value("$p0", chain);
    REQUIRE(r);
    CHECK(*r == "end");
}

TEST_CASE("edit_main_cf: replaces, appends, keeps everything else", "[main_cf]") {
    struct Case {
        const char* what;
        std::string text, name, value, out;
    };
    std::vector<Case> cases = {
        {"append to empty text", "", "a", "1", "a = 1\n"},
        {"append after a file without final newline", "x = 1", "a", "2", "x = 1\na = 2\n"},
        {"append keeps comments", "# a = old\nx = 1\n", "a", "2", "# a = old\nx = 1\na = 2\n"},
        {"replace in place", "# top\nx = 1\na = old\nb = 2\n", "a", "new", "# top\nx = 1\na = new\nb = 2\n"},
        {"replace drops continuation lines", "a = one\n  two\n\tthree\nb = 2\n", "a", "v", "a = v\nb = 2\n"},
        {"replace without spaces around '='", "a=old\n", "a", "new", "a = new\n"},
        {"a longer name sharing the prefix is untouched", "ab = 1\n", "a", "2", "ab = 1\na = 2\n"},
        {"duplicate settings collapse to one", "a = 1\nx = 0\na = 2\n", "a", "3", "a = 3\nx = 0\n"},
        {"comments between entries stay", "a = 1\n# keep me\nb = 2\n", "b", "3", "a = 1\n# keep me\nb = 3\n"},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            std::string out = edit_main_cf(c.text, c.name, c.value);
            CHECK(out == c.out);
            auto parsed = parse_main_cf(out, "main.cf");
            REQUIRE(parsed);
            int seen = 0;
            for (const auto& e : *parsed)
                if (e.name == c.name) {
                    ++seen;
                    CHECK(e.value == c.value);
                }
            CHECK(seen == 1);
        }
    }
}

// parse_main_cf lets comment and blank lines sit inside an entry, so a
// continuation line after them still belongs to it; edit_main_cf stops
// dropping continuation lines at the first comment or blank line, so they
// end up continuing the new value.
TEST_CASE("edit_main_cf: continuation lines after a comment or blank line are dropped too",
          "[main_cf]") {
    for (std::string text : std::vector<std::string>{"a = 1\n# note\n  more\nb = 2\n", "a = 1\n\n  more\nb = 2\n"}) {
        INFO(text);
        std::string out = edit_main_cf(text, "a", "v");
        auto parsed = parse_main_cf(out, "main.cf");
        REQUIRE(parsed);
        REQUIRE(!parsed->empty());
        CHECK(parsed->front().name == "a");
        CHECK(parsed->front().value == "v");
    }
}

// An entry may put its '=' on a continuation line ("name\n    = value");
// parse_main_cf reads it, edit_main_cf looks for '=' on the first physical
// line only, so it neither replaces nor removes the entry, and the old
// value still wins as the last setting.
TEST_CASE("edit_main_cf: an entry with '=' on a continuation line is replaced", "[main_cf]") {
    std::string text = "a = 1\nb\n    = old\n";
    auto before = parse_main_cf(text, "main.cf");
    REQUIRE(before);
    REQUIRE(before->size() == 2);
    REQUIRE(before->back().name == "b");
    REQUIRE(before->back().value == "old");
    auto after = parse_main_cf(edit_main_cf(text, "b", "new"), "main.cf");
    REQUIRE(after);
    REQUIRE(!after->empty());
    CHECK(after->back().name == "b");
    CHECK(after->back().value == "new");
    size_t count = 0;
    for (const auto& e : *after) count += e.name == "b";
    CHECK(count == 1);
}
