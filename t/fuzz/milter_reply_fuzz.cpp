// Milter replies: framing gives the same packets however the bytes arrive,
// never one over the limit; a decoded reply never carries what could start a
// new header line or SMTP command into the message (a header value's line
// ends are folds, names are field names, addresses and parameters have no
// control characters, reply codes are 4xx/5xx).
//
// Input: a byte choosing the split point, then the stream of packets.
#include "fuzz_util.hpp"
#include "mail/milter_proto.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace kurir::mail::milter;

namespace {

std::vector<Packet> frame(std::string_view bytes, size_t cut, bool& failed) {
    std::vector<Packet> out;
    std::string buffer;
    failed = false;
    for (std::string_view part : {bytes.substr(0, cut), bytes.substr(cut)}) {
        buffer.append(part);
        while (true) {
            auto p = take_packet(buffer, 4096);
            if (!p) {
                failed = true;
                return out;
            }
            if (!p->has_value()) break;
            FUZZ_CHECK((*p)->data.size() < 4096);
            out.push_back(std::move(**p));
        }
    }
    return out;
}

bool no_controls(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    std::string_view s(reinterpret_cast<const char*>(data) + 1, size - 1);
    size_t cut = s.empty() ? 0 : data[0] % (s.size() + 1);
    bool failed_whole = false, failed_split = false;
    auto whole = frame(s, s.size(), failed_whole);
    auto split = frame(s, cut, failed_split);
    FUZZ_CHECK(failed_whole == failed_split && whole.size() == split.size());
    for (size_t i = 0; i < whole.size() && i < split.size(); ++i)
        FUZZ_CHECK(whole[i].command == split[i].command && whole[i].data == split[i].data);

    // Every packet, and the input itself as one packet's data.
    std::vector<Packet> packets = whole;
    if (!s.empty()) packets.push_back(Packet{s[0], std::string(s.substr(1))});
    for (const auto& p : packets) {
        auto r = decode_reply(p);
        if (!r) continue;
        switch (r->kind) {
        case ReplyKind::add_header:
        case ReplyKind::insert_header:
        case ReplyKind::change_header:
            FUZZ_CHECK(is_header_name(r->name));
            for (size_t i = 0; i < r->value.size(); ++i) {
                if (r->value[i] == '\n') FUZZ_CHECK(i + 1 < r->value.size() && (r->value[i + 1] == ' ' || r->value[i + 1] == '\t'));
                if (r->value[i] == '\r') FUZZ_CHECK(i + 1 < r->value.size() && r->value[i + 1] == '\n');
            }
            break;
        case ReplyKind::add_rcpt:
        case ReplyKind::add_rcpt_par:
        case ReplyKind::delete_rcpt:
        case ReplyKind::change_from:
            FUZZ_CHECK(!r->address.empty() && no_controls(r->address) && no_controls(r->params));
            break;
        case ReplyKind::reply_code:
            FUZZ_CHECK(r->text.size() >= 3 && (r->text[0] == '4' || r->text[0] == '5'));
            for (size_t i = 0; i < r->text.size(); ++i) {
                if (r->text[i] == '\n') FUZZ_CHECK(i > 0 && r->text[i - 1] == '\r');
                FUZZ_CHECK(r->text[i] != '\0');
            }
            break;
        default:
            break;
        }
        // Re-encoding a header reply gives a packet that decodes the same.
        if (r->kind == ReplyKind::add_header) {
            std::string again = r->name + '\0' + r->value + '\0';
            auto back = decode_reply(Packet{'h', again});
            FUZZ_CHECK(back && back->name == r->name && back->value == r->value);
        }
    }
    return 0;
}
