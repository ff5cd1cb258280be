// cleanup's built-in content inspection, as Postfix's header_checks(5):
// each logical header (continuation lines joined with "\n") is looked up in
// header_checks (primary headers), mime_header_checks (MIME headers:
// Content-*, MIME-Version, and every header of a multipart part) or
// nested_header_checks (headers of an attached message/rfc822), each body
// line (a piece of at most line_length_limit) in body_checks; the table's
// answer is an action. This file holds the pure parts: reading an action,
// the log line, the reject reason. MessageBuilder applies them.
#pragma once

#include "util/result.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kurir::cleanup {

// One table list (a main.cf parameter's maps), or nothing when unset.
using CheckLookup = std::function<util::Result<std::optional<std::string>>(std::string_view)>;

struct CheckTables {
    CheckLookup header;  // header_checks
    CheckLookup mime;    // mime_header_checks
    CheckLookup nested;  // nested_header_checks
    CheckLookup body;    // body_checks
};

enum class CheckAction { dunno, reject, warn, hold, discard, ignore, replace, prepend, redirect, filter };

struct CheckVerdict {
    CheckAction action = CheckAction::dunno;
    std::string text;     // the optional text (REJECT, WARN, ...) or argument (REPLACE, FILTER, ...)
    std::string warning;  // a table entry Postfix warns about (then the action is dunno)
};

// The table's value ("REJECT spam", "PREPEND X-Seen: yes") read as Postfix's
// cleanup_act does: the command case-insensitively, then optional text after
// blanks. in_header: PREPEND and REPLACE text must then be a header.
// map_class names the parameter in warnings ("header_checks").
// Content-* and MIME-Version: the headers mime_header_checks inspects
// (Postfix's HDR_OPT_MIME), wherever they are.
bool is_mime_header(std::string_view header);

CheckVerdict parse_check_action(std::string_view value, bool in_header, std::string_view map_class);

// REJECT's reason: the text with "5.7.1 " in front unless it starts with a
// DSN code of its own ("4.7.1 later" stays); "5.7.1 message content
// rejected" without text. A code that is neither 4.x.x nor 5.x.x becomes 4.
std::string reject_reason(std::string_view text);

// Who sent the message, as the log lines name it.
struct CheckLogContext {
    std::string queue_id;
    std::string origin;  // "client.example[192.0.2.1]", "local"
    std::string sender;  // as in the envelope
    std::string recipient;  // the first one
    std::string proto;   // "" = not said (local submissions)
    std::string helo;    // "" = not said
};

// Postfix's cleanup_act_log: "ID: action: class content from origin;
// from=<s> to=<r> proto=P helo=<h>: text", content cut at 200 bytes, a
// newline inside it shown as a blank.
std::string check_log_line(const CheckLogContext& c, std::string_view action, std::string_view cls,
                           std::string_view content, std::string_view text);

}  // namespace kurir::cleanup
