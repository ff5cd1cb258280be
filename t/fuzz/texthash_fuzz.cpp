// texthash: table sources (TextTable::parse_texthash, postmap's "key value"
// lines read as they are): never crash; an error names "fuzz:N:"; every
// key of the source is found, in any case, and the first value of a key
// wins.
#include "fuzz_util.hpp"
#include "mail/maps.hpp"
#include "mail/memory_tables.hpp"

#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto t = kurir::mail::TextTable::parse_texthash(in, "fuzz");
    auto entries = kurir::mail::parse_map_source(in, "fuzz");
    FUZZ_CHECK(t.has_value() == entries.has_value());
    if (!t) {
        FUZZ_CHECK(t.error().text.starts_with("fuzz"));
        return 0;
    }
    for (const auto& [k, v] : *entries) {
        auto found = t->lookup(k);
        FUZZ_CHECK(found && *found);
        std::string upper = k;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        FUZZ_CHECK(t->lookup(upper).value().has_value());
    }
    if (!entries->empty()) FUZZ_CHECK(*t->lookup(entries->front().first).value() == entries->front().second);
    return 0;
}
