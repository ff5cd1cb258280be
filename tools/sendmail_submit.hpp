// sendmail's pure parts: its command line, and turning a message on
// standard input into the record stream kurir-drop takes.
#pragma once

#include "util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::tools {

enum class SendmailMode { deliver, smtp_stdin, print_queue, init_aliases, verify, flush_queue };

struct SendmailOptions {
    SendmailMode mode = SendmailMode::deliver;
    bool extract = false;       // -t
    bool dots_end = true;       // off with -i / -oi
    std::optional<std::string> sender;  // -f / -r
    std::string fullname;       // -F
    std::string notify;         // -N
    std::string envid;          // -V
    std::string config_dir;     // -C
    std::vector<std::string> recipients;
};

// argv without argv[0]; program is argv[0]'s base name (mailq, newaliases).
util::Result<SendmailOptions> parse_sendmail_args(std::string_view program, const std::vector<std::string>& args);

// Builds the records for kurir-drop incrementally from input lines.
class SubmissionWriter {
public:
    explicit SubmissionWriter(const SendmailOptions& opts);
    // Envelope records; call once before any line.
    std::string envelope() const;
    // Feeds one input line (without its LF; a trailing CR is removed).
    // Returns false when the line ends the message ("." without -i).
    bool line(std::string_view text, std::string& out);
    std::string finish();  // the end-of-content record
    size_t content_bytes() const { return bytes_; }
    // -t, no recipient given, and none in To:, Cc: or Bcc: of the header
    // seen so far (cleanup takes them from there): the message would go
    // nowhere, and Postfix's sendmail says so and exits 64.
    bool without_recipients() const;

private:
    void header_line(std::string_view text);

    const SendmailOptions& opts_;
    bool first_ = true;
    size_t bytes_ = 0;
    bool in_header_ = true;
    bool in_recipient_field_ = false;  // a To:, Cc: or Bcc: field, continued
    std::string recipient_text_;       // the current such field's value
    bool header_recipients_ = false;
};

}  // namespace kurir::tools
