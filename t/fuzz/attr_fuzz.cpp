// attr_decode: never crashes; a decoded frame encodes back to exactly the
// bytes it was decoded from, and decodes again to the same attributes.
#include "fuzz_util.hpp"
#include "util/attr.hpp"

#include <cstddef>
#include <cstdint>

using namespace kurir::util;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto d = attr_decode(in);
    if (!d || !*d) return 0;
    const AttrFrame& f = **d;
    FUZZ_CHECK(f.consumed >= 4 && f.consumed <= size);
    for (const auto& [name, value] : f.attrs.items()) {
        FUZZ_CHECK(!name.empty() && name.size() <= 64);
        FUZZ_CHECK(f.attrs.get(name).has_value());
    }
    std::string again = attr_encode(f.attrs);
    FUZZ_CHECK(again == in.substr(0, f.consumed));
    auto d2 = attr_decode(again);
    FUZZ_CHECK(d2 && *d2);
    FUZZ_CHECK((*d2)->consumed == again.size());
    FUZZ_CHECK((*d2)->attrs.items() == f.attrs.items());
    // Every proper prefix of a frame waits for more.
    auto part = attr_decode(in.substr(0, f.consumed - 1));
    FUZZ_CHECK(part && !*part);
    return 0;
}
