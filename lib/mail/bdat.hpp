// CHUNKING (RFC 3030) as pure functions over bytes: the BDAT command's
// argument, the accounting of one chunk's bytes, and the message content
// that the chunks carry, turned into the same line records DATA gives
// cleanup. There is no end-of-data marker and no dot-stuffing: a message
// ends only with "BDAT n LAST", and "\r\n.\r\n" inside a chunk is data.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace kurir::mail {

// "n" or "n LAST" (LAST in any case, words separated by spaces or tabs):
// n is digits only and at most INT64_MAX, as Postfix's off_t. Anything else
// is an error: the caller cannot know how many bytes follow.
struct BdatCommand {
    uint64_t size = 0;
    bool last = false;
};
util::Result<BdatCommand> parse_bdat_arg(std::string_view arg);

// The bytes of one chunk still to come. take(available) says how many of
// the bytes at hand belong to the chunk (the rest is the next command) and
// counts them off; the chunk never needs a buffer of its size.
class BdatChunk {
public:
    explicit BdatChunk(uint64_t size = 0) : remaining_(size) {}
    size_t take(size_t available) {
        size_t n = remaining_ < available ? static_cast<size_t>(remaining_) : available;
        remaining_ -= n;
        return n;
    }
    uint64_t remaining() const { return remaining_; }
    bool done() const { return remaining_ == 0; }

private:
    uint64_t remaining_;
};

// The message content of a BDAT transaction, fed chunk by chunk, as lines
// for cleanup: a line ends at LF, and a CR just before that LF is part of
// the line end (CRLF becomes the queue file's line end, as for DATA); a CR
// anywhere else, NUL and every other byte are content. A bare LF ends a
// line too and is counted (smtpd_forbid_bare_newline = reject refuses the
// message at its end). A line longer than max_line comes out in pieces
// (Kind::part) ended by a Kind::line; a line split between chunks is one
// line. finish() gives the last line when the message does not end with a
// line end.
class BdatReader {
public:
    enum class Kind { line, part };
    using Sink = std::function<void(Kind, std::string_view)>;

    explicit BdatReader(size_t max_line = 4096) : max_line_(max_line < 8 ? 8 : max_line) {}
    void feed(std::string_view bytes, const Sink& sink);
    void finish(const Sink& sink);
    size_t bare_newlines() const { return bare_newlines_; }

private:
    void emit_parts(const Sink& sink, bool line_complete);

    size_t max_line_;
    std::string pending_;
    bool mid_line_ = false;  // pieces of the current line were emitted
    size_t bare_newlines_ = 0;
};

}  // namespace kurir::mail
