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
//   after X   W, and A "name=value" state kept later (delay_warned=1)
//   M         start of message content (empty)
//   content   N line without its newline   L part of a longer line, continued
//   X         end of content (empty)
//   E         end of file (empty): a file without it is incomplete
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
inline constexpr char end = 'E';
}  // namespace rec

inline constexpr size_t kMaxRecord = 64 * 1024 * 1024;

void rec_append(std::string& out, char type, std::string_view data);

enum class RecStatus { ok, need_more, bad };

struct RecView {
    char type = 0;
    std::string_view data;
    size_t offset = 0;  // of the type byte
};

// Decodes the record at pos and advances pos past it.
RecStatus rec_next(std::string_view buf, size_t& pos, RecView& out);

// Appends a message line as N (or L pieces then N) records.
void rec_append_line(std::string& out, std::string_view line, size_t max_piece = 4096);

}  // namespace kurir::mail
