// BDAT: the argument parser never accepts what it cannot read back, and the
// content reader gives the same events however the bytes are split into
// chunks; joined back (line ends as CRLF) the events give the input exactly
// when it has no bare LF; pieces are never longer than max_line; BdatChunk
// counts off exactly its size.
//
// Input: 4 bytes of parameters (max_line, two split points), then the bytes
// (also tried as a BDAT argument).
#include "fuzz_util.hpp"
#include "mail/bdat.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace kurir::mail;
using Kind = BdatReader::Kind;

namespace {

struct Run {
    std::vector<std::pair<Kind, std::string>> events;
    size_t bare = 0;
};

Run feed(std::string_view s, size_t max_line, std::vector<size_t> cuts) {
    BdatReader r(max_line);
    Run run;
    auto sink = [&](Kind k, std::string_view t) { run.events.emplace_back(k, std::string(t)); };
    cuts.push_back(s.size());
    size_t start = 0;
    for (size_t end : cuts) {
        if (end < start || end > s.size()) continue;
        std::string chunk(s.substr(start, end - start));  // the reader must not keep views
        r.feed(chunk, sink);
        start = end;
    }
    r.finish(sink);
    run.bare = r.bare_newlines();
    return run;
}

std::string join(const Run& r) {
    std::string out;
    for (const auto& [k, t] : r.events) {
        out += t;
        if (k == Kind::line) out += "\r\n";
    }
    return out;
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

    // The argument: what parses is digits (at most INT64_MAX) and LAST.
    if (auto cmd = parse_bdat_arg(s)) {
        FUZZ_CHECK(cmd->size <= static_cast<uint64_t>(INT64_MAX));
        std::string again = std::to_string(cmd->size) + (cmd->last ? " LAST" : "");
        auto back = parse_bdat_arg(again);
        FUZZ_CHECK(back && back->size == cmd->size && back->last == cmd->last);
        FUZZ_CHECK(s.find_first_not_of("0123456789 \tLASTlast") == std::string_view::npos);
    }

    // Chunk accounting: the pieces taken add up to the size, never more.
    BdatChunk chunk(s.size() / 2);
    size_t taken = chunk.take(cut1) + chunk.take(cut2) + chunk.take(s.size());
    FUZZ_CHECK(taken == s.size() / 2 && chunk.done());

    const size_t big = 1 << 20;
    Run whole = feed(s, big, {});
    for (const auto& cuts : {std::vector<size_t>{cut1}, std::vector<size_t>{cut1, cut2}}) {
        Run r = feed(s, big, cuts);
        FUZZ_CHECK(r.events == whole.events && r.bare == whole.bare);
    }
    for (const auto& [k, t] : whole.events) FUZZ_CHECK(k == Kind::line);
    // Byte-exact: with CRLF line ends only, the content comes back as sent
    // (plus a CRLF when it did not end with one).
    if (whole.bare == 0) {
        std::string back = join(whole);
        FUZZ_CHECK(back == s || back == std::string(s) + "\r\n");
    }

    Run small_whole = feed(s, small_max, {});
    Run small_split = feed(s, small_max, {cut1, cut2});
    FUZZ_CHECK(small_split.events == small_whole.events);
    FUZZ_CHECK(small_whole.bare == whole.bare);
    FUZZ_CHECK(join(small_whole) == join(whole));
    size_t effective_max = small_max < 8 ? 8 : small_max;
    for (const auto& [k, t] : small_whole.events) FUZZ_CHECK(t.size() <= effective_max);
    return 0;
}
