// regexp:/pcre: table sources (regexp_table(5), pcre_table(5)), the parser
// alone: never crash; every error names the file; every if knows its
// endif; results expand to no more groups than they name.
#include "fuzz_util.hpp"
#include "mail/pattern_table.hpp"

#include <cstdint>
#include <string_view>

using kurir::mail::PatternKind;
using kurir::mail::PatternRule;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    for (auto kind : {PatternKind::regexp, PatternKind::pcre}) {
        auto t = kurir::mail::parse_pattern_table(text, kind, "fuzz");
        if (!t) {
            FUZZ_CHECK(t.error().text.starts_with("fuzz"));
            continue;
        }
        for (size_t i = 0; i < t->rules.size(); ++i) {
            const auto& r = t->rules[i];
            FUZZ_CHECK(r.line >= 1);
            if (r.op == PatternRule::Op::if_) {
                FUZZ_CHECK(r.endif > i && r.endif < t->rules.size());
                FUZZ_CHECK(t->rules[r.endif].op == PatternRule::Op::endif);
            }
            if (r.op != PatternRule::Op::match) continue;
            FUZZ_CHECK(!r.result.empty());
            FUZZ_CHECK(kind == PatternKind::regexp || !r.second);
            int highest = 0;
            for (const auto& p : r.result) highest = p.group > highest ? p.group : highest;
            FUZZ_CHECK(highest == r.max_group);
            FUZZ_CHECK(r.max_group == 0 || !r.pattern.negated);
        }
    }
    return 0;
}
