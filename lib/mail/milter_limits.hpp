// How much the milters may edit one message at its end (all milters of the
// message together), so that a hostile or broken milter cannot grow a
// message, or the memory of the process that collects its edits, without
// bound. Postfix bounds the same edits by the queue file's size limit
// (message_size_limit); kurir bounds each kind by the parameter that bounds
// it when a client sends it:
//
//   header fields added, inserted or changed  header_size_limit in all
//     (name, colon, value and a newline each;  (what cleanup keeps of
//     a deletion counts its name)              prepended headers)
//   a replaced body                           message_size_limit (0: the
//                                             largest queue file record)
//   recipients added                          smtpd_recipient_limit
//   recipients deleted, sender changes and    smtpd_recipient_limit
//     quarantines
//   one envelope edit (address, parameters,   line_length_limit
//     quarantine reason)
//
// A message whose milters ask for more is refused as Postfix refuses a
// queue file over its limit: "552 5.3.4 Message file too big", with a
// warning that names the milter and the limit. The milter is still heard
// to its final reply (within its timeout), so the conversation stays in
// step; its reject or tempfail, if it gives one, is the answer instead.
#pragma once

#include "mail/config.hpp"
#include "mail/milter_proto.hpp"
#include "util/result.hpp"

#include <cstddef>

namespace kurir::mail::milter {

struct EditLimits {
    size_t header_bytes = 102400;    // header_size_limit
    size_t body_bytes = 10240000;    // message_size_limit, or kMaxRecord when that is 0
    size_t recipients = 1000;        // smtpd_recipient_limit
    size_t envelope_field = 2048;    // line_length_limit
};

EditLimits load_edit_limits(const Config& cfg);

// The reply to a message whose milters edited past a limit.
inline constexpr std::string_view kEditsTooBig = "552 5.3.4 Message file too big";

// One message's edits, counted as they come.
class EditBudget {
public:
    explicit EditBudget(EditLimits limits) : limits_(limits) {}
    // Counts reply (an edit; other replies cost nothing). An error, whose
    // text names the limit, once this edit goes past one: the edit is not
    // to be applied, and neither is any later one.
    util::Result<void> take(const Reply& reply);
    bool exceeded() const { return exceeded_; }

private:
    EditLimits limits_;
    size_t header_bytes_ = 0, body_bytes_ = 0, added_ = 0, other_ = 0;
    bool exceeded_ = false;
};

}  // namespace kurir::mail::milter
