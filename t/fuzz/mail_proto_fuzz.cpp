// The internal protocols' decoders (mail_proto, master_proto): never crash
// on any input; whatever one accepts, its encoder writes back as bytes the
// same decoder accepts and that encode to the same bytes again (one
// canonical form per message). The raw-byte decoders (queue listing,
// trigger bytes) run on the input itself, the frame decoders on
// the frame it holds.
#include "fuzz_util.hpp"
#include "mail/mail_proto.hpp"
#include "server/master_proto.hpp"

#include <cstddef>
#include <cstdint>

using namespace kurir;
using namespace kurir::mail::proto;

namespace {

template <class Decode>
void round_trip(const util::Attrs& attrs, Decode decode) {
    auto first = decode(attrs);
    if (!first) return;
    util::Attrs canonical = encode(*first);
    auto second = decode(canonical);
    FUZZ_CHECK(second.has_value());
    FUZZ_CHECK(util::attr_encode(encode(*second)) == util::attr_encode(canonical));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto listing = decode_queue_listing(in); listing)
        FUZZ_CHECK(decode_queue_listing(encode_queue_listing(*listing)).has_value());
    (void)decode_trigger_bytes(in);
    auto d = util::attr_decode(in);
    if (!d || !*d) return 0;
    const util::Attrs& a = (*d)->attrs;
    round_trip(a, decode_cleanup_hello);
    round_trip(a, decode_cleanup_reply);
    round_trip(a, decode_rewrite_request);
    round_trip(a, decode_rewrite_reply);
    round_trip(a, decode_resolve_reply);
    round_trip(a, decode_delivery_request);
    round_trip(a, decode_delivery_result);
    round_trip(a, decode_queue_entry);
    round_trip(a, decode_trigger);
    round_trip(a, decode_anvil_request);
    round_trip(a, decode_anvil_reply);
    if (auto st = server::decode_status(a); st) FUZZ_CHECK(server::decode_status(server::encode_status(*st)).has_value());
    return 0;
}
