// SMTP protocol pieces as pure functions over bytes: the command line parser,
// ESMTP parameters, and the DATA phase reader (dot-unstuffing and the one end
// of data, CRLF "." CRLF).
#pragma once

#include "util/result.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::mail {

enum class SmtpVerb { helo, ehlo, mail, rcpt, data, rset, noop, quit, vrfy, help, expn, starttls, auth, bdat, unknown };

struct SmtpCommand {
    SmtpVerb verb = SmtpVerb::unknown;
    std::string arg;  // text after the verb and one space, trailing spaces removed
};

SmtpCommand parse_smtp_command(std::string_view line);

// "MAIL FROM:<a@b> SIZE=10 BODY=8BITMIME": checks the keyword ("FROM:" or
// "TO:", any case, optional spaces after the colon), then the path, then
// NAME[=VALUE] parameters.
struct MailArgs {
    std::string address;
    std::vector<std::pair<std::string, std::string>> params;  // names uppercased
};
util::Result<MailArgs> parse_mail_args(std::string_view arg, std::string_view keyword);

// The DATA phase. Feed it the bytes that follow the 354 reply; it reports
// message lines (unstuffed, without line ends) and the end of data, which is
// only CRLF "." CRLF: a "." line ended or begun by a bare LF or CR never ends
// the message (SMTP smuggling). A bare LF ends a content line when
// normalizing; when rejecting, it is counted and the caller refuses the
// message at its end. Lines longer than max_line come out in pieces.
class DataReader {
public:
    enum class Kind { line, part, end };
    using Sink = std::function<void(Kind, std::string_view)>;

    explicit DataReader(size_t max_line = 4096) : max_line_(max_line < 8 ? 8 : max_line) {}
    // Returns how many bytes of buf were consumed. Bytes after the end of
    // data are not consumed (they are the next pipelined command).
    size_t feed(std::string_view buf, const Sink& sink);
    bool ended() const { return ended_; }
    size_t bare_newlines() const { return bare_newlines_; }

private:
    // Emits max_line pieces while the current line is longer than that.
    void emit_parts(const Sink& sink, bool line_complete);

    size_t max_line_;
    std::string pending_;
    bool unstuffed_ = false;  // the current line's leading dot is gone
    bool after_crlf_ = true;  // the previous line ended with CRLF
    bool mid_line_ = false;   // pieces of the current line were emitted
    bool ended_ = false;
    size_t bare_newlines_ = 0;
};

}  // namespace kurir::mail
