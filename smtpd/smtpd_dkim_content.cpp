#include "smtpd/smtpd_dkim_content.hpp"

#include "mail/auth_results.hpp"
#include "mail/content_line.hpp"
#include "mail/header.hpp"
#include "mail/record.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

namespace kurir::smtpd {

namespace {
constexpr size_t kHeaderBlockFactor = 4;  // as cleanup: the whole header block, in header_size_limit
// A header line is classified by its first bytes (a field name is far
// shorter); smtpd's pieces are 4096 bytes, so this is the line's first piece.
constexpr size_t kClassifyBytes = 1024;
static_assert(kClassifyBytes > mail::kMaxHeaderName, "a line's first bytes must hold any header name");
}  // namespace

DkimContent::DkimContent(std::string authserv_id, size_t header_limit, size_t max_signatures, std::string strip,
                         bool mask_cr_lf)
    : authserv_id_(util::lowercase(authserv_id)),
      header_limit_(header_limit),
      max_signatures_(max_signatures),
      strip_(std::move(strip)),
      mask_cr_lf_(mask_cr_lf) {}

// raw without message_strip_characters: what goes on to cleanup, which
// strips them again to no effect (masking a CR first could make a space
// that cleanup would then strip, were a space in the set).
std::string DkimContent::stripped(std::string_view raw) const {
    if (strip_.empty() || raw.find_first_of(strip_) == raw.npos) return std::string(raw);
    return mail::strip_characters(raw, strip_);
}

// What cleanup judges of stripped bytes: stray CR or LF masked (the same
// length, so every count is the same either way).
std::string_view DkimContent::judged(std::string_view data) {
    if (!mask_cr_lf_ || data.find_first_of("\r\n") == data.npos) return data;
    masked_.assign(data);
    mail::mask_stray_cr_lf(masked_);
    return masked_;
}

void DkimContent::record(char type, std::string_view raw, const Forward& forward) {
    if (!in_headers_) {
        forward(type, raw);
        return body(type, raw);
    }
    // In the header, what goes on to cleanup is stripped as cleanup strips
    // it, and judged masked as cleanup masks it: both judge the same bytes,
    // and every count here is of those bytes.
    std::string data = stripped(raw);
    if (type == mail::rec::part && data.empty()) return;  // a piece of stripped characters alone: nothing
    if (line_known_) {
        add(type, data, forward);
        if (type == mail::rec::line) line_known_ = false;
        return;
    }
    line_hold_bytes_ += data.size();
    line_head_.append(judged(data).substr(0, kClassifyBytes - std::min(kClassifyBytes, line_head_.size())));
    line_hold_.emplace_back(type, std::move(data));
    if (type == mail::rec::line || line_head_.size() >= kClassifyBytes || line_hold_bytes_ >= header_limit_)
        classify_line(forward);
}

// A header line begins (its first kClassifyBytes or all of it are at
// hand): a field, a continuation, or the end of the header. Its records
// held so far go their way.
void DkimContent::classify_line(const Forward& forward) {
    std::vector<std::pair<char, std::string>> hold = std::move(line_hold_);
    line_hold_.clear();
    line_hold_bytes_ = 0;
    bool complete = hold.back().first == mail::rec::line;
    bool empty = complete && line_head_.empty();
    bool continuation = mail::is_continuation(line_head_);
    bool field = !continuation && !mail::header_name(line_head_).empty();
    // A line judged before its first kilobyte came (header_size_limit is
    // smaller) whose colon may still come: judged a field, so that this
    // side never ends the header before cleanup does.
    if (!complete && !continuation && !field && line_head_.size() <= mail::kMaxHeaderName &&
        line_head_.find(':') == std::string::npos)
        field = true;
    line_head_.clear();
    if (empty || (!continuation && !field) || (continuation && !have_field_) ||
        header_bytes_ > kHeaderBlockFactor * header_limit_) {
        close_field(forward);
        end_headers();
        for (const auto& [t, d] : hold) {
            forward(t, d);
            if (!empty) body(t, d);  // the body's first line (cleanup puts an empty line before it)
        }
        return;
    }
    if (field) {
        close_field(forward);
        have_field_ = true;
    } else if (field_.size() < header_limit_) {
        field_ += '\n';
    }
    for (const auto& [t, d] : hold) add(t, d, forward);
    line_known_ = !complete;
}

// A header record goes on to cleanup, and header_bytes_ counts it as
// cleanup counts what it gets: each line's bytes (stripped, as all here) up
// to header_size_limit. A field removed here, or held still, is not
// counted: cleanup never sees the one and sees the other later, so this
// side never reaches the end of the header block before cleanup does.
void DkimContent::forward_header(char type, std::string_view data, const Forward& forward) {
    size_t counted = std::min(data.size(), header_limit_ - std::min(header_limit_, line_bytes_));
    line_bytes_ = type == mail::rec::line ? 0 : line_bytes_ + counted;
    header_bytes_ += counted;
    forward(type, data);
}

// A piece of the current field's text.
void DkimContent::add(char type, std::string_view data, const Forward& forward) {
    field_.append(judged(data).substr(0, header_limit_ - std::min(header_limit_, field_.size())));
    switch (fate_) {
        case Fate::forward: forward_header(type, data, forward); break;
        case Fate::drop: break;
        case Fate::undecided:
            held_.emplace_back(type, data);
            held_bytes_ += data.size();
            if (held_bytes_ > header_limit_) decide(forward);
            break;
    }
}

// The field is complete: forwarded or dropped, and kept for the verifier.
void DkimContent::close_field(const Forward& forward) {
    if (!have_field_) return;
    if (fate_ == Fate::undecided) decide(forward);
    std::string_view name = mail::header_name(field_);
    size_t colon = field_.find(':');
    headers_.emplace_back(std::string(name), field_.substr(colon + 1));
    have_field_ = false;
    field_.clear();
    fate_ = Fate::undecided;
}

void DkimContent::decide(const Forward& forward) {
    std::string_view name = mail::header_name(field_);
    if (util::lowercase(name) == "authentication-results") {
        auto id = mail::auth_results_authserv_id(std::string_view(field_).substr(field_.find(':') + 1));
        if (id && util::lowercase(*id) == authserv_id_) {
            fate_ = Fate::drop;
            ++removed_;
        }
    }
    if (fate_ == Fate::undecided) {
        fate_ = Fate::forward;
        for (const auto& [type, data] : held_) forward_header(type, data, forward);
    }
    held_.clear();
    held_bytes_ = 0;
}

void DkimContent::end_headers() {
    in_headers_ = false;
    verifier_ = std::make_unique<mail::DkimVerifier>(std::move(headers_), max_signatures_);
    headers_.clear();
}

void DkimContent::body(char type, std::string_view data) {
    if (verifier_->signatures() == 0 || !unverifiable_.empty()) return;
    if (body_line_.size() + data.size() > kMaxBodyLine) {
        unverifiable_ = fmt::format("a body line longer than {} bytes", kMaxBodyLine);
        std::string().swap(body_line_);
        return;
    }
    if (type != mail::rec::line) {
        body_line_.append(data);
    } else if (body_line_.empty()) {
        verifier_->body_line(data);
    } else {
        body_line_.append(data);
        verifier_->body_line(body_line_);
        body_line_.clear();
    }
}

void DkimContent::finish(const Forward& forward) {
    if (in_headers_ && !line_hold_.empty()) classify_line(forward);  // a last line without its end
    if (in_headers_) {
        close_field(forward);
        end_headers();
    }
    if (!body_line_.empty() && unverifiable_.empty()) verifier_->body_line(body_line_);  // cleanup refuses this
    body_line_.clear();
    verifier_->finish_body();
}

}  // namespace kurir::smtpd
