// Queue file records, the one format for queue files and for the message
// stream that smtpd and pickup send to cleanup.
//
//   record = type:1 length:varint data:length
//   varint = 1..5 bytes, 7 bits each, least significant first, high bit = more
//
// Record types and the segment each may appear in:
//
//   envelope  V version   T arrival "sec usec"   Z content size   S sender
//             A "name=value" attribute   O original recipient (precedes R)
//             Q DSN NOTIFY bits of the next recipient   U its DSN ORCPT "type;address"
//             R recipient (not yet done)  D recipient done (an R flipped in place)
//             W defer "recipient-offset reason" (later records win)
//   after X   W, and A "name=value" state kept later (delay_warned=1);
//             P header fields that go on top of the message, written by
//             cleanup when the whole message is known (DKIM-Signature,
//             Authentication-Results, a milter's added headers): data is the
//             whole field, its physical lines joined by "\n", no final newline.
//             Readers give the P fields, in file order, before the content.
//   M         start of message content (empty)
//   content   N line without its newline   L part of a longer line, continued
//   X         end of content (empty)
//   E         end of file (empty): a file without it is incomplete
//
// A cleanup client's stream (smtpd, pickup, local) is the same records up
// to X; P records may follow the content, before X, and so may F records
// (smtpd_milters' edits: mail/milter_edit.hpp has their grammar), which
// cleanup applies and never writes to a queue file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kurir::mail {

namespace rec {
inline constexpr char version = 'V';
inline constexpr char time = 'T';
inline constexpr char size = 'Z';
inline constexpr char sender = 'S';
inline constexpr char attr = 'A';
inline constexpr char orig_rcpt = 'O';
inline constexpr char dsn_notify = 'Q';
inline constexpr char dsn_orcpt = 'U';
inline constexpr char rcpt = 'R';
inline constexpr char done = 'D';
inline constexpr char defer = 'W';
inline constexpr char message = 'M';
inline constexpr char line = 'N';
inline constexpr char part = 'L';
inline constexpr char content_end = 'X';
inline constexpr char prepend = 'P';
inline constexpr char milter_edit = 'F';
inline constexpr char end = 'E';
}  // namespace rec

inline constexpr size_t kMaxRecord = 64 * 1024 * 1024;
// One record of a client's stream to cleanup is at most this long (smtpd
// and pickup send lines in pieces of 4 KB; an F record carries one milter
// edit).
inline constexpr size_t kMaxStreamRecord = 1 << 20;
// The most a stream's envelope (its records before M) may hold: each
// record's data and kStreamEnvelopeRecordCost bytes for the record.
inline constexpr size_t kMaxStreamEnvelope = 4 << 20;
inline constexpr size_t kStreamEnvelopeRecordCost = 8;

void rec_append(std::string& out, char type, std::string_view data);

enum class RecStatus { ok, need_more, bad };

struct RecView {
    char type = 0;
    std::string_view data;
    size_t offset = 0;  // of the type byte
};

// Decodes the record at pos and advances pos past it.
RecStatus rec_next(std::string_view buf, size_t& pos, RecView& out);

// Whether text is one header field that a P record may hold: a name of
// printable ASCII without a colon, a colon, then continuation lines only
// (each starting with a space or tab), no CR, NUL or empty line.
bool is_prepend_field(std::string_view text);

// Appends a message line as N (or L pieces then N) records.
void rec_append_line(std::string& out, std::string_view line, size_t max_piece = 4096);

// Calls fn(line) for each physical line of a header field whose lines are
// joined by "\n".
template <class Fn>
void for_each_field_line(std::string_view field, Fn&& fn) {
    for (;;) {
        size_t nl = field.find('\n');
        fn(field.substr(0, nl));
        if (nl == std::string_view::npos) return;
        field.remove_prefix(nl + 1);
    }
}

// Appends each physical line of such a field as a message line.
void rec_append_field(std::string& out, std::string_view field, size_t max_piece = 4096);

}  // namespace kurir::mail
