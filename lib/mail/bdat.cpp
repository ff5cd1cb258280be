#include "mail/bdat.hpp"

#include <cstdint>
#include <limits>
#include <vector>

namespace kurir::mail {

util::Result<BdatCommand> parse_bdat_arg(std::string_view arg) {
    std::vector<std::string_view> words;
    size_t i = 0;
    while (i < arg.size()) {
        while (i < arg.size() && (arg[i] == ' ' || arg[i] == '\t')) ++i;
        size_t start = i;
        while (i < arg.size() && arg[i] != ' ' && arg[i] != '\t') ++i;
        if (i > start) words.push_back(arg.substr(start, i - start));
    }
    if (words.empty() || words.size() > 2) return util::fail("BDAT: want a count and an optional LAST");
    BdatCommand cmd;
    constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    for (char c : words[0]) {
        if (c < '0' || c > '9') return util::fail("BDAT: bad count \"" + std::string(words[0]) + "\"");
        uint64_t digit = static_cast<uint64_t>(c - '0');
        if (cmd.size > (kMax - digit) / 10) return util::fail("BDAT: count too large");
        cmd.size = cmd.size * 10 + digit;
    }
    if (words.size() == 2) {
        std::string_view w = words[1];
        constexpr std::string_view kLast = "LAST";
        if (w.size() != kLast.size()) return util::fail("BDAT: want LAST, not \"" + std::string(w) + "\"");
        for (size_t k = 0; k < w.size(); ++k)
            if ((w[k] & ~0x20) != kLast[k]) return util::fail("BDAT: want LAST, not \"" + std::string(w) + "\"");
        cmd.last = true;
    }
    return cmd;
}

void BdatReader::emit_parts(const Sink& sink, bool line_complete) {
    // Until the line's LF has come, a trailing CR stays back: it may be the
    // first half of the line's CRLF.
    auto body = [&] {
        return pending_.size() - (!line_complete && !pending_.empty() && pending_.back() == '\r' ? 1 : 0);
    };
    while (body() > max_line_) {
        sink(Kind::part, std::string_view(pending_).substr(0, max_line_));
        pending_.erase(0, max_line_);
        mid_line_ = true;
    }
}

void BdatReader::feed(std::string_view bytes, const Sink& sink) {
    // The same events come out however the bytes are split between calls.
    while (!bytes.empty()) {
        size_t nl = bytes.find('\n');
        if (nl == std::string_view::npos) {
            pending_.append(bytes);
            emit_parts(sink, false);
            return;
        }
        pending_.append(bytes.substr(0, nl));
        bytes.remove_prefix(nl + 1);
        if (!pending_.empty() && pending_.back() == '\r')
            pending_.pop_back();
        else
            ++bare_newlines_;
        emit_parts(sink, true);
        sink(Kind::line, pending_);
        pending_.clear();
        mid_line_ = false;
    }
}

void BdatReader::finish(const Sink& sink) {
    if (pending_.empty() && !mid_line_) return;
    emit_parts(sink, true);
    sink(Kind::line, pending_);
    pending_.clear();
    mid_line_ = false;
}

}  // namespace kurir::mail
