// parse_smtp_reply, parse_nexthop, parse_transport_spec: never crash; a
// parsed reply is consistent with the bytes it consumed.
#include "fuzz_util.hpp"
#include "mail/nexthop.hpp"
#include "mail/smtp_reply.hpp"

#include <cstddef>
#include <cstdint>

using namespace kurir::mail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    size_t used = 0;
    auto r = parse_smtp_reply(in, used);
    if (r && *r) {
        const SmtpReply& reply = **r;
        FUZZ_CHECK(used > 0 && used <= size);
        FUZZ_CHECK(in[used - 1] == '\n');
        FUZZ_CHECK(reply.code >= 200 && reply.code <= 599);
        FUZZ_CHECK(!reply.lines.empty() && reply.lines.size() <= kMaxReplyLines);
        FUZZ_CHECK(reply.enhanced.size() >= 5 && reply.enhanced[0] == static_cast<char>('0' + reply.code / 100));
        for (char c : reply.text()) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
        (void)parse_ehlo_features(reply);
        // The same reply split anywhere is incomplete before its end.
        size_t used2 = 0;
        auto again = parse_smtp_reply(in.substr(0, used - 1), used2);
        FUZZ_CHECK(!again || !*again);
    }
    if (auto n = parse_nexthop(in)) {
        FUZZ_CHECK(!n->host.empty() && n->host.size() <= 255);
        FUZZ_CHECK(n->port >= 1 && n->port <= 65535);
        for (char c : n->host) FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '[' && c != ']' && c != '/');
    }
    (void)parse_transport_spec(in);
    return 0;
}
