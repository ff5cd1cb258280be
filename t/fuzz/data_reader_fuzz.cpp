// DataReader: the DATA stream fed whole and in random splits gives the same
// events; the message ends exactly at the first CRLF "." CRLF (or "." CRLF
// at the start) and never elsewhere (no SMTP smuggling); nothing after the
// end is consumed.
//
// Input: 4 bytes of parameters (max_line, two split points), then the stream.
#include "fuzz_util.hpp"
#include "mail/smtp_command.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

using namespace kurir::mail;
using Kind = DataReader::Kind;

namespace {

struct Run {
    std::vector<std::pair<Kind, std::string>> events;
    size_t consumed = 0;
    bool ended = false;
    size_t bare = 0;
};

Run feed(std::string_view stream, size_t max_line, std::vector<size_t> cuts) {
    DataReader dr(max_line);
    Run run;
    auto sink = [&](Kind k, std::string_view t) {
        FUZZ_CHECK(k == Kind::end || !dr.ended());  // nothing after the end
        run.events.emplace_back(k, std::string(t));
    };
    cuts.push_back(stream.size());
    size_t start = 0;
    for (size_t end : cuts) {
        if (end < start || end > stream.size()) continue;
        std::string chunk(stream.substr(start, end - start));  // the reader must not keep views
        size_t n = dr.feed(chunk, sink);
        FUZZ_CHECK(n <= chunk.size());
        run.consumed += n;
        start = end;
        if (dr.ended()) break;
        FUZZ_CHECK(n == chunk.size());
    }
    run.ended = dr.ended();
    run.bare = dr.bare_newlines();
    return run;
}

// Where the message must end: just after the first CRLF "." CRLF, or after
// "." CRLF at the very start.
size_t expected_end(std::string_view s) {
    if (s.starts_with(".\r\n")) return 3;
    size_t p = s.find("\r\n.\r\n");
    return p == std::string_view::npos ? 0 : p + 5;
}

void check_end(const Run& r, std::string_view s) {
    size_t want = expected_end(s);
    FUZZ_CHECK(r.ended == (want != 0));
    if (r.ended) {
        FUZZ_CHECK(r.consumed == want);
        FUZZ_CHECK(!r.events.empty() && r.events.back().first == Kind::end);
    } else {
        FUZZ_CHECK(r.consumed == s.size());
    }
    size_t ends = 0;
    for (const auto& e : r.events) ends += e.first == Kind::end;
    FUZZ_CHECK(ends == (r.ended ? 1u : 0u));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 4) return 0;
    size_t small_max = 2 + data[0] % 62;
    size_t cut1 = (size_t(data[1]) << 8 | data[2]);
    size_t cut2 = cut1 + data[3];
    std::string_view s(reinterpret_cast<const char*>(data) + 4, size - 4);
    cut1 = s.empty() ? 0 : cut1 % (s.size() + 1);
    cut2 = s.empty() ? 0 : std::min(cut2, s.size());

    // Lines never longer than max_line: events must match exactly.
    const size_t big = 1 << 20;
    Run whole = feed(s, big, {});
    check_end(whole, s);
    for (const auto& cuts : {std::vector<size_t>{cut1}, std::vector<size_t>{cut1, cut2}}) {
        Run r = feed(s, big, cuts);
        FUZZ_CHECK(r.events == whole.events);
        FUZZ_CHECK(r.consumed == whole.consumed && r.ended == whole.ended && r.bare == whole.bare);
    }
    for (const auto& [k, t] : whole.events) FUZZ_CHECK(k != Kind::part);

    // Long lines in pieces: the end, what is consumed and the bare LF count
    // do not depend on the split.
    Run small_whole = feed(s, small_max, {});
    check_end(small_whole, s);
    Run small_split = feed(s, small_max, {cut1, cut2});
    check_end(small_split, s);
    FUZZ_CHECK(small_split.bare == small_whole.bare);
    FUZZ_CHECK(small_whole.bare == whole.bare);
    // Once-found bugs: a long line inside one buffer came out whole, and a
    // long line after a bare LF was unstuffed only on the line path. Pieces
    // are at most max_line long (DataReader raises a max_line below 8 to 8).
    if (kurir::fuzz::strict()) {
        FUZZ_CHECK(small_split.events == small_whole.events);
        size_t effective_max = small_max < 8 ? 8 : small_max;
        for (const auto& [k, t] : small_whole.events) FUZZ_CHECK(t.size() <= effective_max);
    }
    return 0;
}
