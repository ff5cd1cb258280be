// The F record (mail/record.hpp): one edit a milter asked for at the end of
// a message, sent by smtpd after the content (among the P records) and
// applied by cleanup before the queue file is durable. Data: the edit's
// letter (the milter reply's, mail/milter_proto.hpp), then its fields:
//
//   h NAME NUL VALUE             append a header field after the last
//   i INDEX NUL NAME NUL VALUE   insert a header field before the INDEX-th
//                                (0-based) of the content's fields (not the
//                                P fields), cleanup's own Received: counted
//                                (past the last: append)
//   m INDEX NUL NAME NUL VALUE   change the INDEX-th (1-based; 0 is 1)
//                                field named NAME after cleanup's own
//                                Received:; an empty VALUE deletes it, a
//                                VALUE for a field not there appends it
//   b BYTES                      a piece of the new body (the pieces in
//                                order are the whole body; CRLF or LF ends)
//   + ADDRESS NUL PARAMS         add a recipient (PARAMS: ESMTP, may be empty)
//   - ADDRESS                    delete a recipient
//   e ADDRESS NUL PARAMS         change the sender
//   q REASON                     quarantine: the message goes to hold/
//
// VALUE: folded lines joined by "\n" (or "\r\n"), as the milter sent them.
// The positions are Postfix's (cleanup_milter.c): a milter never sees the
// MTA's own Received: header, yet an insert at 0 goes above it.
#pragma once

#include "mail/milter_proto.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kurir::mail {

struct MilterEdit {
    char op = 0;
    uint32_t index = 0;
    std::string first;   // NAME, ADDRESS, REASON or BYTES
    std::string second;  // VALUE or PARAMS
};

// A milter's end-of-message reply as an edit; nullopt for one that is no
// edit (a quarantine included: it is no edit of the message's content).
std::optional<MilterEdit> milter_edit_of(const milter::Reply& reply);

std::string encode_milter_edit(const MilterEdit& edit);
// Strict: an unknown letter, a missing or extra field, a bad index, a bad
// header name or value, an address with control characters is an error.
util::Result<MilterEdit> decode_milter_edit(std::string_view data);

// A milter's header as a P record's field: "Name: value", the value's
// CRLFs made LFs, lines that hold only blanks dropped.
std::string milter_header_field(std::string_view name, std::string_view value);

}  // namespace kurir::mail
