// The SRS reverse parser (parse_local) and timestamp decoder: never crash;
// a parsed address has every field non-empty, fields before the last free
// of "=", and written back in its form it parses to the same fields; a
// decoded timestamp is a day slot (0-1023) that encodes back to itself.
#include "fuzz_util.hpp"
#include "mail/srs_address.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

using namespace kurir::mail::srs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view local = in.substr(0, in.rfind('@'));
    auto parsed = parse_local(local);
    if (parsed) FUZZ_CHECK(is_srs(local));
    if (parsed) {
        if (const auto* s0 = std::get_if<Srs0>(&*parsed)) {
            for (const auto* f : {&s0->hash, &s0->stamp, &s0->host}) FUZZ_CHECK(!f->empty() && f->find('=') == std::string::npos);
            FUZZ_CHECK(!s0->user.empty());
            auto again = parse_local("SRS0=" + s0->hash + "=" + s0->stamp + "=" + s0->host + "=" + s0->user);
            FUZZ_CHECK(again && std::get<Srs0>(*again).user == s0->user && std::get<Srs0>(*again).host == s0->host);
            int slot = decode_timestamp(s0->stamp);
            FUZZ_CHECK(slot >= -1 && slot < kStampSlots);
            if (slot >= 0) FUZZ_CHECK(decode_timestamp(timestamp(static_cast<long>(slot) * kDaySeconds)) == slot);
            (void)timestamp_fresh(s0->stamp, 1577836860);
        } else {
            const auto& s1 = std::get<Srs1>(*parsed);
            FUZZ_CHECK(!s1.hash.empty() && !s1.host.empty() && !s1.opaque.empty());
            FUZZ_CHECK(s1.hash.find('=') == std::string::npos && s1.host.find('=') == std::string::npos);
            auto again = parse_local("SRS1=" + s1.hash + "=" + s1.host + "=" + s1.opaque);
            FUZZ_CHECK(again && std::get<Srs1>(*again).opaque == s1.opaque);
        }
    }
    return 0;
}
