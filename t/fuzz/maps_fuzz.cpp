// Map and alias sources (postmap / postalias syntax) and alias values:
// never crash; every entry has a key without whitespace; split items are
// non-empty.
#include "fuzz_util.hpp"
#include "mail/maps.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto m = kurir::mail::parse_map_source(text, "fuzz")) {
        for (const auto& [k, v] : *m) FUZZ_CHECK(!k.empty() && k.find_first_of(" \t\n") == std::string::npos);
    }
    if (auto a = kurir::mail::parse_aliases_source(text, "fuzz")) {
        for (const auto& [k, v] : *a) {
            FUZZ_CHECK(!k.empty() && !v.empty());
            for (const auto& item : kurir::mail::split_alias_value(v)) FUZZ_CHECK(!item.empty());
        }
    }
    (void)kurir::mail::parse_map_spec(text.substr(0, 200));
    return 0;
}
