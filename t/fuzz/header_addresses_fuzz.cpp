// rewrite_address_list (canonical_maps and masquerade_domains in headers):
// never crashes; a rewrite that changes nothing gives the value back byte
// for byte; a rewrite of every address gives a value whose addresses are
// the new one (the rest, names and comments, is never taken for one).
#include "fuzz_util.hpp"
#include "mail/address.hpp"
#include "mail/header_addresses.hpp"

#include <cstddef>
#include <cstdint>

using namespace kurir;
using namespace kurir::mail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    size_t seen = 0;
    auto same = rewrite_address_list(in, [&](std::string_view a) -> util::Result<std::string> {
        FUZZ_CHECK(!a.empty());
        ++seen;
        return std::string(a);
    });
    FUZZ_CHECK(same && *same == in);
    size_t changed = 0;
    auto all = rewrite_address_list(in, [&](std::string_view) -> util::Result<std::string> {
        ++changed;
        return std::string("new@example.com");
    });
    FUZZ_CHECK(all && changed == seen);
    auto failed = rewrite_address_list(in, [](std::string_view) -> util::Result<std::string> { return util::fail("x"); });
    FUZZ_CHECK(seen == 0 ? bool(failed) : !failed);
    return 0;
}
