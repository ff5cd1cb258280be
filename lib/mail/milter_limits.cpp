#include "mail/milter_limits.hpp"

#include "mail/record.hpp"

#include <fmt/format.h>

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

util::Result<void> EditBudget::take(const Reply& r) {
    switch (r.kind) {
    case ReplyKind::add_header:
    case ReplyKind::insert_header:
    case ReplyKind::change_header:
    case ReplyKind::replace_body:
    case ReplyKind::add_rcpt:
    case ReplyKind::add_rcpt_par:
    case ReplyKind::delete_rcpt:
    case ReplyKind::change_from:
    case ReplyKind::quarantine: break;
    default: return {};  // not an edit
    }
    if (exceeded_) return util::fail("milter edits past a limit: this one not taken either");
    auto over = [&](std::string text) {
        exceeded_ = true;
        return util::fail(std::move(text));
    };
    auto envelope = [&](size_t bytes, size_t& count, std::string_view what) -> util::Result<void> {
        if (bytes > limits_.envelope_field)
            return over(fmt::format("{} longer than line_length_limit ({} bytes)", what, limits_.envelope_field));
        if (++count > limits_.recipients)
            return over(fmt::format("more than smtpd_recipient_limit ({}) {}", limits_.recipients,
                                    &count == &added_ ? "recipients added" : "envelope edits"));
        return {};
    };
    switch (r.kind) {
    case ReplyKind::add_header:
    case ReplyKind::insert_header:
    case ReplyKind::change_header:
        header_bytes_ += r.name.size() + 1 + r.value.size() + 1;
        if (header_bytes_ > limits_.header_bytes)
            return over(fmt::format("header edits over header_size_limit ({} bytes)", limits_.header_bytes));
        return {};
    case ReplyKind::replace_body:
        if (!std::exchange(body_started_, true)) body_bytes_ = 0;
        body_bytes_ += r.body.size();
        if (body_bytes_ > limits_.body_bytes)
            return over(fmt::format("replaced body over message_size_limit ({} bytes)", limits_.body_bytes));
        return {};
    case ReplyKind::add_rcpt:
    case ReplyKind::add_rcpt_par: return envelope(r.address.size() + r.params.size(), added_, "added recipient");
    case ReplyKind::delete_rcpt: return envelope(r.address.size(), other_, "deleted recipient");
    case ReplyKind::change_from: return envelope(r.address.size() + r.params.size(), other_, "new sender");
    case ReplyKind::quarantine: return envelope(r.text.size(), other_, "quarantine reason");
    default: return {};
    }
}

}  // namespace kurir::mail::milter
