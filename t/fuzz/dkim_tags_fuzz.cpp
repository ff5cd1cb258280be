// DKIM tag lists, signatures and key records: the parsers never crash, a
// parsed signature keeps its promises (From signed, i= inside d=, base64
// values, lowercase names), and relaxed header canonicalization is
// idempotent and leaves no line end but the final CRLF.
#include "fuzz_util.hpp"
#include "mail/dkim_canon.hpp"
#include "mail/dkim_tags.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

using namespace kurir::mail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    if (auto tags = parse_dkim_tags(s)) {
        for (size_t i = 0; i < tags->size(); ++i) {
            FUZZ_CHECK(!(*tags)[i].name.empty());
            FUZZ_CHECK((*tags)[i].value.find(';') == std::string::npos);
            for (size_t j = i + 1; j < tags->size(); ++j) FUZZ_CHECK((*tags)[i].name != (*tags)[j].name);
        }
    }
    if (auto sig = parse_dkim_signature(s)) {
        FUZZ_CHECK(std::find(sig->headers.begin(), sig->headers.end(), "from") != sig->headers.end());
        FUZZ_CHECK(!sig->domain.empty() && !sig->selector.empty() && !sig->body_hash.empty());
        FUZZ_CHECK(sig->signature.size() % 4 == 0 && sig->body_hash.size() % 4 == 0);
        FUZZ_CHECK(sig->identity.find('@') != std::string::npos);
        for (const auto& h : sig->headers)
            FUZZ_CHECK(!h.empty() && std::none_of(h.begin(), h.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
    }
    (void)parse_dkim_key_record(s);

    size_t colon = s.find(':');
    std::string_view name = s.substr(0, colon), value = colon == std::string_view::npos ? "" : s.substr(colon + 1);
    if (name.find_first_of("\r\n") != std::string_view::npos) return 0;  // header names never hold line ends
    std::string once = dkim_header(DkimCanon::relaxed, name, value);
    FUZZ_CHECK(once.size() >= 3 && once.substr(once.size() - 2) == "\r\n");
    std::string body = once.substr(0, once.size() - 2);
    FUZZ_CHECK(body.find('\n') == std::string::npos && body.find('\r') == std::string::npos);
    size_t c = body.find(':');
    FUZZ_CHECK(c != std::string::npos);
    // name's own colons move the split; only an input without one before
    // the value's is checked for idempotence.
    if (name.find(':') == std::string_view::npos && body.substr(0, c).find(' ') == std::string::npos &&
        body.substr(0, c).find('\t') == std::string::npos)
        FUZZ_CHECK(dkim_header(DkimCanon::relaxed, body.substr(0, c), body.substr(c + 1)) == once);
    return 0;
}
