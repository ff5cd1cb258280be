// regexp:/pcre: tables compiled by the real engines (POSIX regex and
// PCRE2) and searched: the input is a table source, then a line of
// keys after the first "\n--\n"; never crash, and an error names the file.
#include "fuzz_util.hpp"
#include "mail/regexp_table.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string_view>

using kurir::mail::PatternKind;

namespace {

bool slow_for_posix(std::string_view text) {
    // glibc copies the operand of "+" and "{n,m}" (x+ is xx*): nested
    // ones grow the compiled form exponentially.
    if (std::count_if(text.begin(), text.end(), [](char c) { return c == '+' || c == '{'; }) > 6) return true;
    // A repeated group ("(a+|b)+", "(x||||)+") and repeats stacked on
    // repeats ("a???????+") make glibc's matcher take exponential time:
    // leave out every repeat after ")" (the pcre: run still has them), and
    // more than three stacked ones. Bracket expressions and the lines of the
    // table are not told apart: that only leaves out more.
    auto repeat = [](char c) { return c == '?' || c == '*' || c == '+' || c == '{'; };
    int stacked = 0;
    for (size_t i = 0; i + 1 < text.size(); ++i) {
        char c = text[i];
        if (c == '\\') {
            ++i;
            continue;
        }
        if (!repeat(text[i + 1])) continue;
        if (c == ')') return true;
        if ((repeat(c) || c == '}') && ++stacked > 3) return true;
    }
    for (size_t i = 0; i + 1 < text.size(); ++i) {
        if (text[i] == '\\' && text[i + 1] >= '1' && text[i + 1] <= '9') return true;
        if ((text[i] == '{' || text[i] == ',') && i + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
            std::isdigit(static_cast<unsigned char>(text[i + 2])))
            return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    if (input.size() > 4096) return 0;  // pathological patterns cost time, not coverage
    size_t cut = input.find("\n--\n");
    std::string_view text = input.substr(0, cut);
    std::string_view keys = cut == std::string_view::npos ? std::string_view("key") : input.substr(cut + 4);
    for (auto kind : {PatternKind::regexp, PatternKind::pcre}) {
        // glibc's regex takes exponential time on backreferences and
        // exponential memory on nested repeats, by design: tables are
        // written by the administrator. Keep those out of the way.
        if (kind == PatternKind::regexp && slow_for_posix(text)) continue;
        auto src = kurir::mail::parse_pattern_table(text, kind, "fuzz");
        if (!src) continue;
        auto t = kurir::mail::RegexpTable::compile(std::move(*src));
        if (!t) {
            FUZZ_CHECK(t.error().text.starts_with("fuzz, line "));
            continue;
        }
        while (true) {
            size_t nl = keys.find('\n');
            auto v = t->lookup(keys.substr(0, nl));
            if (!v) FUZZ_CHECK(v.error().text.starts_with("fuzz, line "));
            if (nl == std::string_view::npos) break;
            keys.remove_prefix(nl + 1);
        }
    }
    return 0;
}
