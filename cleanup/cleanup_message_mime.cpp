// MessageBuilder's view of the MIME structure, as far as Postfix's cleanup
// needs it for its checks: the headers of each multipart part go to
// mime_header_checks, the headers of an attached message/rfc822 to
// nested_header_checks (its Content-* and MIME-Version headers to
// mime_header_checks); body_checks see the rest. Only a Content-Type's
// boundary and type are read; nothing is decoded.
#include "cleanup/cleanup_message.hpp"

#include "mail/header.hpp"
#include "mail/record.hpp"

#include <strings.h>

namespace kurir::cleanup {

namespace {

// Multipart levels followed; deeper ones are body (Postfix's mime_nesting_limit is 100).
constexpr size_t kMaxNesting = 20;

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && ::strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\n')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\n')) v.remove_suffix(1);
    return v;
}

// The boundary parameter of a Content-Type value, "" when it has none.
std::string boundary_of(std::string_view value) {
    for (size_t at = value.find(';'); at != value.npos; at = value.find(';', at + 1)) {
        std::string_view p = trim(value.substr(at + 1));
        if (!starts_with_nocase(p, "boundary")) continue;
        p = trim(p.substr(8));
        if (p.empty() || p.front() != '=') continue;
        p = trim(p.substr(1));
        if (!p.empty() && p.front() == '"') {
            size_t end = p.find('"', 1);
            return std::string(p.substr(1, end == p.npos ? p.npos : end - 1));
        }
        size_t end = p.find_first_of("; \t\n");
        return std::string(p.substr(0, end));
    }
    return {};
}

}  // namespace

// One header of a header block: a multipart type opens a level, a
// message/rfc822 part's body begins with a header block of its own.
void MessageBuilder::mime_content_type(std::string_view header) {
    if (!mail::header_is(header, "Content-Type")) return;
    std::string_view value = trim(header.substr(header.find(':') + 1));
    if (starts_with_nocase(value, "multipart/")) {
        std::string b = boundary_of(value);
        if (!b.empty() && boundaries_.size() < kMaxNesting) boundaries_.push_back("--" + b);
    } else if (starts_with_nocase(value, "message/rfc822")) {
        nested_next_ = true;
    }
}

void MessageBuilder::mime_start(const std::vector<std::string>& headers) {
    nested_next_ = false;
    for (const auto& h : headers) mime_content_type(h);
    mime_state_ = nested_next_ ? MimeState::nested_headers : MimeState::text;
    nested_next_ = false;
}

// The part header held in mime_header_, looked up and written out.
std::expected<void, Refusal> MessageBuilder::mime_flush_header() {
    if (mime_header_.empty()) return {};
    std::string h = std::move(mime_header_);
    mime_header_.clear();
    bool mime = is_mime_header(h) || mime_state_ == MimeState::part_headers;
    const CheckLookup& table = mime ? checks_.mime : checks_.nested;
    std::optional<std::string> replaced;
    bool drop = false;
    if (filtering_ && table) {
        auto a = act(table, mime ? "mime_header_checks" : "nested_header_checks", true, h);
        if (!a) return std::unexpected(a.error());
        if (a->prepend) {
            size_ += static_cast<long>(a->prepend->size()) + 1;
            out_line(dst(), *a->prepend);
        }
        if (a->drop) {
            size_ -= static_cast<long>(h.size()) + 1;
            drop = true;
        } else if (a->replace) {
            size_ += static_cast<long>(a->replace->size()) - static_cast<long>(h.size());
            replaced = std::move(a->replace);
        }
    }
    const std::string& out = replaced ? *replaced : h;
    if (!drop) {
        mime_content_type(out);
        size_t p = 0;
        for (;;) {
            size_t nl = out.find('\n', p);
            out_line(dst(), std::string_view(out).substr(p, nl == out.npos ? out.npos : nl - p));
            if (nl == out.npos) break;
            p = nl + 1;
        }
    }
    return {};
}

std::expected<void, Refusal> MessageBuilder::mime_line(char type, std::string_view data, std::string_view raw) {
    using namespace mail;
    if (mime_state_ == MimeState::text) {
        if (type == rec::line && data.starts_with("--")) {
            std::string_view line = data;
            while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
            for (size_t i = boundaries_.size(); i-- > 0;) {
                const std::string& b = boundaries_[i];
                if (!line.starts_with(b)) continue;
                std::string_view rest = line.substr(b.size());
                if (rest != "" && rest != "--") continue;
                boundaries_.resize(rest == "--" ? i : i + 1);  // inner levels left open end here
                if (rest == "") mime_state_ = MimeState::part_headers;
                break;
            }
        }
        return body_piece(type, data, raw);
    }
    // A header block of a part or of an attached message.
    size_t limit = static_cast<size_t>(header_limit_);
    if (type == rec::part) {
        size_t keep = std::min(data.size(), limit - std::min(limit, mime_line_.size()));
        size_ -= static_cast<long>(data.size() - keep);
        mime_line_.append(data.substr(0, keep));
        return {};
    }
    std::string line = std::move(mime_line_);
    mime_line_.clear();
    line.append(data);
    if (mask_cr_lf_) mail::mask_stray_cr_lf(line);
    if (is_continuation(line) && !mime_header_.empty()) {
        if (mime_header_.size() + line.size() + 1 <= limit) {
            mime_header_ += "\n" + line;
            return {};
        }
        size_ -= static_cast<long>(line.size()) + 1;  // over header_size_limit: dropped, as Postfix cuts
        return {};
    }
    if (auto f = mime_flush_header(); !f) return f;
    if (!line.empty() && !header_name(line).empty()) {
        mime_header_ = std::move(line);
        return {};
    }
    // The end of the header block (or a line that is no header: the body starts with it).
    bool nested = nested_next_;
    nested_next_ = false;
    mime_state_ = nested ? MimeState::nested_headers : MimeState::text;
    if (line.empty()) {
        rec_append(dst(), rec::line, "");
        return {};
    }
    return take_body(rec::line, line, {});
}

}  // namespace kurir::cleanup
