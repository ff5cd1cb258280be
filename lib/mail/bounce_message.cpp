#include "mail/bounce_message.hpp"

#include "mail/header.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <set>

namespace kurir::mail {
namespace {

constexpr size_t kWrap = 79;   // Postfix's bounce line_wrap width
constexpr size_t kIndent = 4;  // and continuation indent
constexpr size_t kMaxBoundaryBase = 60;  // room for "." and a code within RFC 2046's 70

// Printable ASCII kept, every other byte '?', cut at kMaxNoticeText, blanks trimmed.
std::string mask(std::string_view s) {
    std::string out(s.substr(0, kMaxNoticeText));
    for (char& c : out)
        if (c < 0x20 || c > 0x7e) c = '?';  // char may be signed: 8-bit bytes are negative
    return std::string(util::trim(out));
}

// Postfix's line_wrap: break at the last blank that keeps a line within kWrap
// columns (a longer word stays whole); continuation lines start with kIndent
// blanks. text has no blanks at either end.
std::string wrap(std::string_view text) {
    std::string out;
    size_t width = kWrap;
    while (text.size() > width) {
        size_t cut = text.rfind(' ', width);
        if (cut == std::string_view::npos || cut == 0) cut = text.find(' ', width + 1);
        if (cut == std::string_view::npos) break;
        std::string_view piece = text.substr(0, cut);
        while (!piece.empty() && piece.back() == ' ') piece.remove_suffix(1);
        text.remove_prefix(cut);
        while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
        out += piece;
        if (text.empty()) return out;
        out += '\n';
        out.append(kIndent, ' ');
        width = kWrap - kIndent;
    }
    out += text;
    return out;
}

bool is_bchar(char c) {  // RFC 2046 bcharsnospace
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           std::string_view("'()+_,-./:=?").find(c) != std::string_view::npos;
}

// The boundary: token "/" host in boundary characters, or when that occurs in
// the body, base "." and the first code of L base-36 digits that follows none
// of its occurrences. There are fewer occurrences than 36^L codes, so one is
// free, and the result stays within 70 characters for any body under 36^9 bytes.
std::string make_boundary(std::string_view token, std::string_view host, const std::vector<std::string_view>& body) {
    std::string base;
    std::string raw = host.empty() ? std::string(token) : fmt::format("{}/{}", token, host);
    for (char c : raw) {
        if (base.size() == kMaxBoundaryBase) break;
        base += is_bchar(c) ? c : '_';
    }
    if (base.empty()) base = "kurir-notice";
    std::vector<std::string_view> after;  // the text after each occurrence
    for (auto part : body)
        for (size_t p = part.find(base); p != std::string_view::npos; p = part.find(base, p + 1))
            after.push_back(part.substr(p + base.size()));
    if (after.empty()) return base;
    size_t len = 1;
    for (size_t codes = 36; codes <= after.size(); codes *= 36) ++len;
    std::set<std::string_view> taken;
    for (auto a : after)
        if (a.size() > len && a[0] == '.') taken.insert(a.substr(1, len));
    static constexpr std::string_view digits = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (size_t k = 0;; ++k) {
        std::string code(len, '0');
        for (size_t i = len, v = k; i-- > 0; v /= 36) code[i] = digits[v % 36];
        if (!taken.contains(code)) return base + "." + code;
    }
}

// The leading header and continuation lines of a message (Postfix's
// IS_HEADER rule, so a missing empty line also ends the headers).
std::string_view header_block(std::string_view msg) {
    size_t pos = 0;
    while (pos < msg.size()) {
        size_t nl = msg.find('\n', pos);
        size_t end = nl == std::string_view::npos ? msg.size() : nl;
        std::string_view line = msg.substr(pos, end - pos);
        if (header_name(line).empty() && !is_continuation(line)) break;
        pos = nl == std::string_view::npos ? msg.size() : nl + 1;
    }
    return msg.substr(0, pos);
}

// The longest prefix of whole lines within limit bytes.
std::string_view whole_lines(std::string_view text, size_t limit) {
    if (text.size() <= limit) return text;
    if (limit == 0) return {};
    size_t nl = text.rfind('\n', limit - 1);
    return nl == std::string_view::npos ? std::string_view() : text.substr(0, nl + 1);
}

std::string_view default_action(NoticeKind k) {
    return k == NoticeKind::failure ? "failed" : k == NoticeKind::delay ? "delayed" : "delivered";
}

std::string action_of(NoticeKind k, std::string_view a) {
    for (std::string_view ok : {"failed", "delayed", "delivered", "relayed", "expanded"})
        if (a == ok) return std::string(a);
    return std::string(default_action(k));
}

// "X.Y.Z": class 2, 4 or 5, subject and detail of 1-3 digits (RFC 3463).
bool valid_status(std::string_view s) {
    if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
    size_t digits = 0, dots = 0;
    for (char c : s.substr(2)) {
        if (c >= '0' && c <= '9') {
            if (++digits > 3) return false;
        } else if (c == '.' && digits > 0 && dots == 0) {
            ++dots;
            digits = 0;
        } else {
            return false;
        }
    }
    return dots == 1 && digits > 0;
}

std::string status_of(NoticeKind k, std::string_view s) {
    if (valid_status(s)) return std::string(s);
    return k == NoticeKind::failure ? "5.0.0" : k == NoticeKind::delay ? "4.0.0" : "2.0.0";
}

std::string elapsed(long seconds) {
    if (seconds >= 3600) return fmt::format("{} hour(s)", seconds / 3600);
    return fmt::format("{} minute(s)", std::max(seconds, 0L) / 60);
}

constexpr std::string_view kHelp =
    "For further assistance, please send mail to postmaster.\n"
    "\n"
    "If you do so, please include this problem report. You can\n"
    "delete your own text from the attached returned message.\n";

std::string notification(const NoticeInput& in, std::string_view attached) {
    std::string t = fmt::format("This is the mail system at host {}.\n\n", mask(in.reporting_mta));
    switch (in.kind) {
    case NoticeKind::failure:
        t += "I'm sorry to have to inform you that your message could not\n";
        t += fmt::format("be delivered to one or more recipients.{}\n\n", attached);
        t += kHelp;
        break;
    case NoticeKind::delay:
        t += "####################################################################\n"
             "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
             "####################################################################\n\n";
        if (in.arrival_time > 0)
            t += fmt::format("Your message could not be delivered for more than {}.\n",
                             elapsed(in.now - in.arrival_time));
        if (in.will_retry_until > 0)
            t += fmt::format("It will be retried until {}.\n", notice_date(in.will_retry_until));
        t += "\n";
        t += kHelp;
        break;
    case NoticeKind::success:
        t += "Your message was delivered to the destination(s) listed below.\n"
             "If it was delivered to a mailbox, you will receive no further\n"
             "notifications. Otherwise other systems may still report delivery\n"
             "errors to you.\n";
        break;
    }
    t += "\n                   The mail system\n";
    for (const auto& r : in.recipients) {
        std::string why = mask(r.diagnostic);
        if (why.empty())
            why = fmt::format("{} (status {})", action_of(in.kind, r.action), status_of(in.kind, r.status));
        else if (r.diagnostic_is_smtp && !mask(r.remote_mta).empty())
            why = fmt::format("host {} said: {}", mask(r.remote_mta), why);
        t += fmt::format("\n{}\n", wrap(fmt::format("<{}>: {}", mask(r.address), why)));
    }
    return t;
}

std::string delivery_status(const NoticeInput& in) {
    std::string t = fmt::format("Reporting-MTA: dns; {}\n", mask(in.reporting_mta));
    if (auto id = mask(in.queue_id); !id.empty()) t += fmt::format("X-Kurir-Queue-ID: {}\n", id);
    if (auto envid = mask(in.envid); !envid.empty()) t += fmt::format("Original-Envelope-Id: {}\n", envid);
    if (in.arrival_time > 0) t += fmt::format("Arrival-Date: {}\n", notice_date(in.arrival_time));
    for (const auto& r : in.recipients) {
        t += fmt::format("\nFinal-Recipient: rfc822; {}\n", mask(r.address));
        if (auto orig = mask(r.original); !orig.empty()) t += fmt::format("Original-Recipient: rfc822; {}\n", orig);
        t += fmt::format("Action: {}\n", action_of(in.kind, r.action));
        t += fmt::format("Status: {}\n", status_of(in.kind, r.status));
        if (auto mta = mask(r.remote_mta); !mta.empty()) t += fmt::format("Remote-MTA: dns; {}\n", mta);
        if (auto diag = mask(r.diagnostic); !diag.empty())
            t += wrap(fmt::format("Diagnostic-Code: {}; {}", r.diagnostic_is_smtp ? "smtp" : "X-Kurir", diag)) + "\n";
        if (in.kind == NoticeKind::delay && in.will_retry_until > 0)
            t += fmt::format("Will-Retry-Until: {}\n", notice_date(in.will_retry_until));
    }
    return t;
}

struct Part {
    std::string header;   // MIME part header lines
    std::string content;  // whole lines
};

}  // namespace

std::string notice_date(long epoch) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = std::clamp(epoch, 0L, 253402300799L);  // 9999-12-31 23:59:59
    struct tm tm {};
    gmtime_r(&t, &tm);
    return fmt::format("{}, {:02d} {} {} {:02d}:{:02d}:{:02d} +0000 (UTC)", kDays[tm.tm_wday], tm.tm_mday,
                       kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string build_notice(const NoticeInput& in) {
    bool headers_only = in.headers_only || in.original.size() > in.size_limit;
    std::string original(headers_only ? whole_lines(header_block(in.original), in.size_limit) : in.original);
    if (!original.empty() && original.back() != '\n') original += '\n';
    bool eight_bit = std::any_of(original.begin(), original.end(), [](char c) { return (c & 0x80) != 0; });

    std::string_view attached = original.empty() ? "" : headers_only ? " Its headers are attached below."
                                                                      : " It's attached below.";
    std::vector<Part> parts;
    parts.push_back({"Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n",
                     notification(in, attached)});
    parts.push_back({"Content-Description: Delivery report\nContent-Type: message/delivery-status\n",
                     delivery_status(in)});
    if (!original.empty()) {
        std::string_view what = in.kind == NoticeKind::success ? "" : "Undelivered ";
        std::string header = fmt::format("Content-Description: {}Message{}\nContent-Type: {}\n", what,
                                         headers_only ? " Headers" : "",
                                         headers_only ? "text/rfc822-headers" : "message/rfc822");
        if (eight_bit) header += "Content-Transfer-Encoding: 8bit\n";
        parts.push_back({std::move(header), std::move(original)});
    }

    constexpr std::string_view kPreamble = "This is a MIME-encapsulated message.\n";
    std::vector<std::string_view> body = {kPreamble};
    for (const auto& p : parts) {
        body.push_back(p.header);
        body.push_back(p.content);
    }
    std::string boundary = make_boundary(in.boundary, in.reporting_mta, body);

    std::string_view subject = in.kind == NoticeKind::failure ? "Undelivered Mail Returned to Sender"
                               : in.kind == NoticeKind::delay ? "Delayed Mail (still being retried)"
                                                              : "Successful Mail Delivery Report";
    std::string out = fmt::format("Date: {}\nFrom: {}\nSubject: {}\nTo: {}\nAuto-Submitted: auto-replied\n",
                                  notice_date(in.now), mask(in.from), subject, mask(in.to));
    if (auto id = mask(in.message_id); !id.empty()) out += fmt::format("Message-Id: {}\n", id);
    out += "MIME-Version: 1.0\n";
    out += "Content-Type: multipart/report; report-type=delivery-status;\n";
    out += fmt::format("\tboundary=\"{}\"\n", boundary);
    out += fmt::format("Content-Transfer-Encoding: {}\n\n", eight_bit ? "8bit" : "7bit");
    out += kPreamble;
    for (const auto& p : parts) out += fmt::format("\n--{}\n{}\n{}", boundary, p.header, p.content);
    out += fmt::format("\n--{}--\n", boundary);
    return out;
}

}  // namespace kurir::mail
