#include "mail/milter_limits.hpp"

#include "mail/record.hpp"

#include <fmt/format.h>

#include <optional>
#include <utility>

namespace kurir::mail::milter {

EditLimits load_edit_limits(const Config& cfg) {
    EditLimits l;
    auto size = [&](std::string_view name) { return static_cast<size_t>(std::max(0L, cfg.integer(name))); };
    l.header_bytes = size("header_size_limit");
    l.body_bytes = size("message_size_limit");
    if (l.body_bytes == 0) l.body_bytes = kMaxRecord;
    l.recipients = size("smtpd_recipient_limit");
    l.envelope_field = size("line_length_limit");
    return l;
}

namespace {

// The fields of an edit that its record carries; nullopt: not an edit.
std::optional<size_t> edit_bytes(const Reply& r) {
    switch (r.kind) {
    case ReplyKind::add_header:
    case ReplyKind::insert_header:
    case ReplyKind::change_header: return r.name.size() + r.value.size();
    case ReplyKind::replace_body: return r.body.size();
    case ReplyKind::add_rcpt:
    case ReplyKind::add_rcpt_par:
    case ReplyKind::change_from: return r.address.size() + r.params.size();
    case ReplyKind::delete_rcpt: return r.address.size();
    case ReplyKind::quarantine: return r.text.size();
    default: return std::nullopt;
    }
}

}  // namespace

util::Result<void> EditBudget::take(const Reply& r) {
    auto bytes = edit_bytes(r);
    if (!bytes) return {};  // not an edit
    if (exceeded_) return util::fail("milter edits past a limit: this one not taken either");
    auto over = [&](std::string text) {
        exceeded_ = true;
        return util::fail(std::move(text));
    };
    auto envelope = [&](size_t& count, std::string_view what) -> util::Result<void> {
        if (*bytes > limits_.envelope_field)
            return over(fmt::format("{} longer than line_length_limit ({} bytes)", what, limits_.envelope_field));
        if (++count > limits_.recipients)
            return over(fmt::format("more than smtpd_recipient_limit ({}) {}", limits_.recipients,
                                    &count == &added_ ? "recipients added" : "envelope edits"));
        return {};
    };
    if (*bytes + kEditRecordOverhead > limits_.one_record)
        return over(fmt::format("an edit over {} bytes (cleanup's limit on one record)", limits_.one_record));
    if (r.kind == ReplyKind::replace_body) {
        if (!std::exchange(body_started_, true)) body_bytes_ = body_records_ = 0;
        body_records_ += *bytes + kEditRecordOverhead;
    } else {
        other_records_ += *bytes + kEditRecordOverhead;
    }
    if (body_records_ + other_records_ > limits_.records)
        return over(fmt::format("edits over {} bytes in all (cleanup's limit on their records)", limits_.records));
    switch (r.kind) {
    case ReplyKind::add_header:
    case ReplyKind::insert_header:
    case ReplyKind::change_header:
        // As cleanup counts a prepended field: "Name: value" and a newline.
        header_bytes_ += *bytes + 3;
        if (header_bytes_ > limits_.header_bytes)
            return over(fmt::format("header edits over header_size_limit ({} bytes)", limits_.header_bytes));
        return {};
    case ReplyKind::replace_body:
        body_bytes_ += *bytes;
        if (body_bytes_ > limits_.body_bytes)
            return over(fmt::format("replaced body over message_size_limit ({} bytes)", limits_.body_bytes));
        return {};
    case ReplyKind::add_rcpt:
    case ReplyKind::add_rcpt_par: return envelope(added_, "added recipient");
    case ReplyKind::delete_rcpt: return envelope(other_, "deleted recipient");
    case ReplyKind::change_from: return envelope(other_, "new sender");
    default: return envelope(other_, "quarantine reason");
    }
}

}  // namespace kurir::mail::milter
