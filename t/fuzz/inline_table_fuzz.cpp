// inline:{...} tables (parse_inline_table, Postfix's dict_inline) and the
// brace-aware list splitting around them: never crash; an error names the
// table; keys are lowercased and non-empty; "inline:BODY" parses as a table
// spec exactly when BODY parses; a list of one braced table splits into one
// item.
#include "fuzz_util.hpp"
#include "mail/config.hpp"
#include "mail/inline_table.hpp"
#include "mail/maps.hpp"

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto e = kurir::mail::parse_inline_table(in);
    std::string spec = "inline:" + std::string(in);
    auto s = kurir::mail::parse_map_spec(spec);
    FUZZ_CHECK(e.has_value() == s.has_value());
    (void)kurir::mail::split_list(in);
    (void)kurir::mail::parse_map_spec("unionmap:" + std::string(in));
    if (!e) {
        FUZZ_CHECK(e.error().text.starts_with(spec + ": "));
        return 0;
    }
    FUZZ_CHECK(!e->empty());
    for (const auto& [k, v] : *e) {
        FUZZ_CHECK(!k.empty());
        for (char c : k) FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)));
    }
    // A table that parsed has its separators inside braces: a list holding
    // it alone is one item.
    if (in.front() == '{' && in.back() == '}')
        FUZZ_CHECK(kurir::mail::split_list(spec) == std::vector<std::string>{spec});
    auto maps = kurir::mail::MapList::open({spec});
    FUZZ_CHECK(maps && maps->warnings().empty());
    FUZZ_CHECK(maps->lookup(e->front().first).value().has_value());
    return 0;
}
