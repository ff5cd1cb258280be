// A milter's header edits (mail/milter_edit.hpp: h, i, m) applied to a
// list of header fields at Postfix's positions, and the message a milter is
// shown once the milters before it edited it.
//
// Positions, as Postfix 3.7 places them (checked against it in
// t/e2e/test_milter_positions.py): the MTA's own Received: on top is
// unseen: no milter is shown it and no change finds it, even below fields
// inserted above it, but an insert counts it (at 0 a field goes above it);
// an append, an insert past the last field and a change of a field that is
// not there (with a value) follow the last field; a change at index 0 is
// one at 1 and writes the milter's spelling of the name.
//
// Postfix shows each milter the queue file as the milters before it left
// it; so does kurir, with one difference: Postfix hides the first field
// whatever it is (a field a milter inserted at 0, its own Received: then
// shown), kurir always hides its own Received:.
#pragma once

#include "mail/milter_config.hpp"
#include "mail/milter_edit.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail::milter {

struct HeaderField {
    std::string name;
    std::string rest;  // after the colon, folded lines joined by "\n"
    bool unseen = false;
    std::string text() const { return name + ":" + rest; }
};

// "Name: value\n\tmore" as a field (text has a colon).
HeaderField header_field_of(std::string_view text);

// Applies one h, i or m edit (others are not header edits: nothing).
void apply_header_edit(std::vector<HeaderField>& fields, const MilterEdit& edit);

// The message in text (lines each ended by "\n", as split_message takes
// it) as the next milter is shown it after edits: own_received_first, the
// text's first field is the MTA's own Received: (cleanup's view of a queue
// file), else the text has none (smtpd's view of what the client sent) and
// one is counted above it all the same. A replaced body (the b pieces in
// order) is the body, its lines ended by CRLF.
MilterMessage milter_view(std::string_view text, bool own_received_first, const std::vector<MilterEdit>& edits,
                          bool leading_space);

}  // namespace kurir::mail::milter
