// How much the milters may edit one message at its end (all milters of the
// message together), so that a hostile or broken milter cannot grow a
// message, or the memory of the process that collects its edits, without
// bound. Postfix bounds the same edits by the queue file's size limit
// (message_size_limit); kurir bounds each kind by the parameter that bounds
// it when a client sends it:
//
//   header fields added, inserted or changed  header_size_limit in all,
//     (each as a header line: name, colon,     with the fields smtpd puts
//     space, value, newline; a deletion        on top itself (its
//     counts its name)                         Authentication-Results)
//   a replaced body (the one delivered: each  message_size_limit (0: the
//     milter's replacement starts it over)    largest queue file record)
//   recipients added                          smtpd_recipient_limit
//   recipients deleted, sender changes and    smtpd_recipient_limit
//     quarantines
//   one envelope edit (address, parameters,   line_length_limit
//     quarantine reason)
//   all of them, as the records that carry    kMaxRecord (cleanup's cap on
//     them to cleanup (their bytes and         a message's F records, so a
//     kEditRecordOverhead each)                message_size_limit above it
//                                              does not let more through)
//   one of them, as its record                kMaxStreamRecord (cleanup's
//                                              cap on one record, whatever
//                                              header_size_limit is)
//
// Each limit is one cleanup applies too (the header fields smtpd puts on
// top by header_size_limit, the edits' records by kMaxRecord), counted as
// cleanup counts it, so that edits the budget lets through are never
// refused by cleanup (a 4xx on every try). A milter that fails has its
// edits dropped and the budget taken back to where it was before them.
//
// A message whose milters ask for more is refused as Postfix refuses a
// queue file over its limit: "552 5.3.4 Message file too big", with a
// warning that names the milter and the limit. The milter is still heard
// to its final reply (within its timeout), so the conversation stays in
// step; its reject or tempfail, if it gives one, is the answer instead.
//
// And how long one request may wait for its milter's final reply
// (ReplyDeadline): its timeout (milter_command_timeout, or
// milter_content_timeout for the body and the end of message) counts from
// the request, for the whole of it: edits and other packets do not restart
// it. A progress reply restarts it, as Postfix and Sendmail do (libmilter's
// smfi_progress), but never past kProgressFactor times the timeout from the
// request: Postfix restarts its timer at every read and has no bound at all
// (milter8.c: "XXX Bound the loop iteration count"), so a milter that says
// "progress" forever holds its smtpd or cleanup forever; kurir gives even a
// busy milter ten times its timeout (50 minutes at the end of a message by
// default), then takes it as a milter that timed out (milter_default_action).
#pragma once

#include "mail/config.hpp"
#include "mail/milter_proto.hpp"
#include "mail/record.hpp"
#include "util/result.hpp"

#include <algorithm>
#include <cstddef>

namespace kurir::mail::milter {

struct EditLimits {
    size_t header_bytes = 102400;    // header_size_limit
    size_t body_bytes = 10240000;    // message_size_limit, or kMaxRecord when that is 0
    size_t recipients = 1000;        // smtpd_recipient_limit
    size_t envelope_field = 2048;    // line_length_limit
    size_t records = kMaxRecord;     // all edits, as their records
    size_t one_record = kMaxStreamRecord;  // one edit, as its record
};

// What an edit's record (mail/milter_edit.hpp) adds to its fields: the
// letter, an index of up to 10 digits, two NULs (at most).
inline constexpr size_t kEditRecordOverhead = 16;

EditLimits load_edit_limits(const Config& cfg);

// The reply to a message whose milters edited past a limit.
inline constexpr std::string_view kEditsTooBig = "552 5.3.4 Message file too big";

// One message's edits, counted as they come.
class EditBudget {
public:
    // prepended: the bytes of the header fields that the client already
    // put on top of the message (each with its newline).
    explicit EditBudget(EditLimits limits, size_t prepended = 0) : limits_(limits), header_bytes_(prepended) {}
    // A milter's end-of-message answer begins: a body it replaces starts
    // the body over (Postfix: MILTER_BODY_START), so the body before it,
    // never delivered, no longer counts.
    void begin() { body_started_ = false; }
    // Counts reply (an edit; other replies cost nothing and pass). An
    // error, whose text names the limit, once this edit goes past one: the
    // edit is not to be applied, and neither is any later one.
    util::Result<void> take(const Reply& reply);
    bool exceeded() const { return exceeded_; }

private:
    EditLimits limits_;
    size_t header_bytes_ = 0, body_bytes_ = 0, added_ = 0, other_ = 0;
    size_t body_records_ = 0, other_records_ = 0;  // the body's records, and the other edits'
    bool exceeded_ = false, body_started_ = false;
};

inline constexpr long kProgressFactor = 10;

// Milliseconds on a monotonic clock.
class ReplyDeadline {
public:
    ReplyDeadline(long now_ms, long timeout_seconds)
        : timeout_ms_(timeout_seconds * 1000), at_(now_ms + timeout_ms_),
          last_(now_ms + kProgressFactor * timeout_ms_) {}
    long at() const { return at_; }
    // A progress reply came at now_ms.
    void progress(long now_ms) { at_ = std::min(now_ms + timeout_ms_, last_); }

private:
    long timeout_ms_, at_, last_;
};

}  // namespace kurir::mail::milter
