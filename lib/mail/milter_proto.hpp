// The Sendmail milter protocol (version 6), MTA side, as pure functions over
// bytes: the framing of packets (a 4-byte big-endian length covering the
// command byte and its data), the MTA's commands to a milter, and the strict
// decoding of a milter's replies. Nothing here touches a socket or a
// message: the milter client (smtpd, cleanup) sends what these build and
// applies what decode_reply gives it.
//
// A milter is another program, maybe buggy, maybe hostile: every reply is
// checked before it can change a message. Header names must be field names,
// header values may fold (LF or CRLF followed by a space or a tab) but never
// start a new header line, addresses carry no control characters, a reply
// code is 4xx or 5xx with an enhanced status that agrees, and a packet that
// is longer than the caller allows or has data its command does not take is
// an error, never a partial action.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::mail::milter {

constexpr uint32_t kVersion = 6;

// Actions a milter may ask for (SMFIF_*), negotiated in OPTNEG.
namespace action {
constexpr uint32_t add_headers = 0x001, change_body = 0x002, add_rcpt = 0x004, delete_rcpt = 0x008,
                   change_headers = 0x010, quarantine = 0x020, change_from = 0x040, add_rcpt_par = 0x080,
                   set_symlist = 0x100;
constexpr uint32_t all = 0x1ff;
}  // namespace action

// Protocol steps the milter does not want, or does not answer (SMFIP_*).
namespace step {
constexpr uint32_t no_connect = 0x1, no_helo = 0x2, no_mail = 0x4, no_rcpt = 0x8, no_body = 0x10,
                   no_headers = 0x20, no_eoh = 0x40, no_reply_header = 0x80, no_unknown = 0x100,
                   no_data = 0x200, skip = 0x400, rcpt_rejected = 0x800, no_reply_connect = 0x1000,
                   no_reply_helo = 0x2000, no_reply_mail = 0x4000, no_reply_rcpt = 0x8000,
                   no_reply_data = 0x10000, no_reply_unknown = 0x20000, no_reply_eoh = 0x40000,
                   no_reply_body = 0x80000, header_leading_space = 0x100000;
constexpr uint32_t all = 0x1fffff;
}  // namespace step

// The MTA's commands (SMFIC_*).
namespace command {
constexpr char abort = 'A', body = 'B', connect = 'C', macro = 'D', end_of_body = 'E', helo = 'H',
               quit_keep_connection = 'K', header = 'L', mail = 'M', end_of_headers = 'N', optneg = 'O',
               quit = 'Q', rcpt = 'R', data = 'T', unknown = 'U';
}

struct Packet {
    char command = 0;
    std::string data;
};

// One packet's bytes.
std::string encode_packet(char command, std::string_view data);

// The first whole packet at the front of buffer, removed from it; nullopt
// when more bytes are needed. A length of 0 (no command byte) or over
// max_size is an error: the connection cannot be trusted after it.
util::Result<std::optional<Packet>> take_packet(std::string& buffer, size_t max_size);

struct Options {
    uint32_t version = kVersion;
    uint32_t actions = 0;
    uint32_t steps = 0;
};

// Stage numbers of the macro lists a milter may ask for in OPTNEG
// (SMFIM_*), and the command byte each one goes with.
enum class MacroStage : uint32_t { connect = 0, helo = 1, mail = 2, rcpt = 3, data = 4, end_of_body = 5, end_of_headers = 6 };

// The MTA's commands.
std::string encode_optneg(const Options& offer);
std::string encode_macros(char for_command, const std::vector<std::pair<std::string, std::string>>& macros);
enum class Family : char { unknown = 'U', unix_socket = 'L', inet = '4', inet6 = '6' };
std::string encode_connect(std::string_view hostname, Family family, uint16_t port, std::string_view address);
std::string encode_helo(std::string_view name);
// MAIL and RCPT: the address (with its angle brackets) then each ESMTP
// parameter, each NUL-terminated.
std::string encode_envelope(char command, std::string_view address, const std::vector<std::string>& params);
std::string encode_header(std::string_view name, std::string_view value);
std::string encode_body_chunk(std::string_view chunk);
std::string encode_unknown(std::string_view command_line);
std::string encode_simple(char command);  // DATA, EOH, EOB, ABORT, QUIT, QUIT_NC

// A milter's reply.
enum class ReplyKind {
    accept,          // 'a': accept the message, stop asking this milter
    continue_,       // 'c'
    discard,         // 'd'
    reject,          // 'r'
    tempfail,        // 't'
    reply_code,      // 'y': text holds the whole SMTP reply
    skip,            // 's': no more body chunks
    progress,        // 'p': still working, restart the timer
    connection_fail, // 'f'
    shutdown,        // '4'
    add_header,      // 'h'
    insert_header,   // 'i': index, name, value
    change_header,   // 'm': index (1-based occurrence), name, value ("" deletes)
    replace_body,    // 'b': a chunk of the new body
    add_rcpt,        // '+'
    add_rcpt_par,    // '2': address, params
    delete_rcpt,     // '-'
    change_from,     // 'e': address, params
    quarantine,      // 'q': text holds the reason
    optneg,          // 'O': options, macro lists
};

struct Reply {
    ReplyKind kind = ReplyKind::continue_;
    std::string text;   // reply_code's reply, quarantine's reason
    uint32_t index = 0; // insert_header, change_header
    std::string name, value;
    std::string address, params;
    std::string body;
    Options options;
    std::vector<std::pair<MacroStage, std::string>> macro_lists;
};

// Strict decoding of one packet from a milter.
util::Result<Reply> decode_reply(const Packet& packet);

// The action (action::*) a modification needs the milter to have asked
// for in its option negotiation; 0 for a reply that is no modification.
uint32_t needed_action(ReplyKind kind);

// Checks on what a milter may put into a message, shared with the code that
// applies the replies.
bool is_header_name(std::string_view name);
bool is_folded_header_value(std::string_view value);
bool is_envelope_address(std::string_view address);
// "4xx" or "5xx", then " " or "-" or nothing, then text; every further line
// after a CRLF starts with the same code; an enhanced status, if present,
// has the class of the code.
bool is_reply_code_text(std::string_view reply);

}  // namespace kurir::mail::milter
