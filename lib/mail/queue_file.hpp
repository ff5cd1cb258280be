// A queue file parsed: envelope, recipients with the offsets where their
// record type byte lives (so a recipient is marked done in place), and where
// the content starts. parse_queue_file is a pure, strict function: records
// in the wrong segment, a missing end record or trailing bytes are errors.
#pragma once

#include "mail/record.hpp"
#include "util/result.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

struct QueueRecipient {
    std::string address;
    std::string original;  // empty when the same as address
    size_t offset = 0;     // of the R/D type byte
    bool done = false;
    std::string defer_reason;  // latest W record for this recipient
    int notify = 0;            // DSN NOTIFY bits (dsn_params.hpp), 0 = not given
    std::string orcpt;         // DSN ORCPT, "rfc822;address", or empty
};

struct QueueEnvelope {
    long arrival_sec = 0;
    long arrival_usec = 0;
    long content_size = 0;
    std::string sender;
    std::vector<std::pair<std::string, std::string>> attrs;
    std::vector<QueueRecipient> recipients;
    size_t content_offset = 0;  // first record after M
    size_t content_end = 0;     // offset of X
    std::vector<std::string> prepended;  // P fields, in file order: they go before the content

    std::string attr(std::string_view name) const;
};

// A maildrop file of "sendmail -t" may have no envelope recipients yet.
enum class RecipientsRequired { yes, no };
util::Result<QueueEnvelope> parse_queue_file(std::string_view bytes,
                                             RecipientsRequired need = RecipientsRequired::yes);

// Calls line(text) for each message line: the lines of the P fields first,
// then the content's (L pieces joined).
util::Result<void> for_each_content_line(std::string_view bytes, const QueueEnvelope& env,
                                         const std::function<void(std::string_view)>& line);

// Marks the recipient at offset done in the open file fd (one byte, in place)
// and appends nothing. The caller fsyncs.
util::Result<void> mark_recipient_done(int fd, size_t offset);

}  // namespace kurir::mail
