// cidr: table sources (CidrTable::parse, Postfix's cidr_table(5)): never
// crash; an error names "fuzz, line N"; a parsed table answers any lookup
// without failing.
#include "fuzz_util.hpp"
#include "mail/memory_tables.hpp"

#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // The last line is also asked as an address.
    size_t nl = in.rfind('\n');
    std::string_view last = nl == std::string_view::npos ? in : in.substr(nl + 1);
    auto t = kurir::mail::CidrTable::parse(in, "fuzz");
    if (!t) {
        FUZZ_CHECK(t.error().text.starts_with("fuzz, line ") || t.error().text.starts_with("fuzz: "));
        return 0;
    }
    for (std::string_view key : {last, std::string_view("192.0.2.1"), std::string_view("2001:db8::1")}) {
        auto v = t->lookup(key);
        FUZZ_CHECK(v.has_value());
    }
    return 0;
}
