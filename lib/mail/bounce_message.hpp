// Delivery status notifications as message text: the non-delivery, delay and
// success notices of Postfix's bounce daemon, an RFC 3464 report inside an
// RFC 6522 multipart/report, built by one pure function (no I/O, no clock).
//
// Layout, every line ended by "\n" (B is the boundary):
//   Date, From, Subject, To, Auto-Submitted, Message-Id, MIME-Version,
//   Content-Type: multipart/report; report-type=delivery-status;
//   <TAB>boundary="B"
//   Content-Transfer-Encoding: 7bit | 8bit (8bit when the included original has 8-bit bytes)
//   <empty line> "This is a MIME-encapsulated message." <empty line>
//   --B  text/plain, "Notification": the human text, then "<rcpt>: why" per recipient
//   --B  message/delivery-status, "Delivery report": per-message fields, then per
//        recipient an empty line and its fields
//   --B  message/rfc822 "Undelivered Message" (the whole original), or
//        text/rfc822-headers "Undelivered Message Headers" (its header block only,
//        for RET=HDRS or an original over size_limit, itself cut after the last
//        whole line within size_limit); "Message"/"Message Headers" for success
//        notices; the part is left out when there is nothing to include
//   --B--
// with an empty line before each boundary line, as Postfix writes it.
//
// Trust: every string field may come from the network. Each is masked: a byte
// outside printable ASCII (0x20-0x7e) becomes '?' (as Postfix's bounce log
// reader does), so no CR, LF, NUL or 8-bit byte reaches a header or DSN field;
// blanks are trimmed and a value is cut at kMaxNoticeText bytes. The
// "<rcpt>: why" lines and Diagnostic-Code are wrapped at 79 columns with
// continuation lines indented by 4 blanks (a header fold). An invalid Action
// or Status is replaced by the notice kind's default. The original is copied
// byte for byte (a missing final "\n" is added); the boundary is made from the
// caller's token and reporting_mta and lengthened until it occurs nowhere in
// the body, so no included text can end a part.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

inline constexpr size_t kMaxNoticeText = 900;  // keeps every field line under 998 bytes

enum class NoticeKind { failure, delay, success };

struct NoticeRecipient {
    std::string address;     // final recipient, "bob@example.org"
    std::string original;    // original recipient (ORCPT or pre-alias address), bare; "" = none
    std::string action;      // failed | delayed | delivered | relayed | expanded; "" = the kind's default
    std::string status;      // enhanced status "5.1.1"; "" = 5.0.0, 4.0.0 or 2.0.0 by kind
    std::string diagnostic;  // the reply text (after "smtp; ") or our own text (after "X-Kurir; ")
    bool diagnostic_is_smtp = false;
    std::string remote_mta;  // host name of the remote MTA; "" = none
};

struct NoticeInput {
    NoticeKind kind = NoticeKind::failure;
    std::string queue_id;       // of the original message
    std::string reporting_mta;  // myhostname
    std::string from;           // header text, "MAILER-DAEMON@mx.example.com (Mail Delivery System)"
    std::string to;             // header text: the original sender or postmaster, external form
    std::string envid;          // DSN ENVID (xtext-decoded); "" = none
    bool headers_only = false;  // DSN RET=HDRS
    long arrival_time = 0;      // of the original, unix seconds; 0 = unknown (no Arrival-Date)
    long now = 0;               // for Date:
    long will_retry_until = 0;  // delay notices; 0 = unknown (no Will-Retry-Until)
    std::string boundary;       // unique token, e.g. queue id "." time; the boundary is token "/" reporting_mta
    std::string message_id;     // "<...@mx.example.com>"; "" = no Message-Id header
    std::vector<NoticeRecipient> recipients;
    std::string_view original;  // header lines, empty line, body; lines separated by "\n"
    size_t size_limit = 50000;  // bounce_size_limit: a larger original is returned as its headers only
};

// The notice as message text (header, empty line, body), lines ended by "\n".
std::string build_notice(const NoticeInput& in);

// "Mon, 23 Nov 2026 10:01:02 +0000 (UTC)"; epochs outside years 1970-9999 are clamped.
std::string notice_date(long epoch);

}  // namespace kurir::mail
