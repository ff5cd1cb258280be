// DSN parameters of the SMTP envelope (RFC 3461): RET and ENVID on MAIL,
// NOTIFY and ORCPT on RCPT. Pure parsers over what a client sent, and the
// forms kurir keeps in queue files and passes on to the next server.
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>

namespace kurir::mail {

inline constexpr size_t kMaxEnvid = 100;   // RFC 3461 4.4
inline constexpr size_t kMaxOrcpt = 500;   // RFC 3461 4.2

namespace notify {
inline constexpr int never = 1;
inline constexpr int success = 2;
inline constexpr int failure = 4;
inline constexpr int delay = 8;
}  // namespace notify

// xtext (RFC 3461 4): "+XX" for bytes outside 33..126, '+' and '='.
util::Result<std::string> decode_xtext(std::string_view text);
std::string encode_xtext(std::string_view text);

// "NEVER" or a list of SUCCESS, FAILURE, DELAY (any case) -> notify bits.
util::Result<int> parse_notify(std::string_view value);
// Bits -> "SUCCESS,DELAY" / "NEVER"; empty for 0 (not given).
std::string format_notify(int bits);
// With no NOTIFY, failures and delays are reported (as Postfix does).
inline bool wants_notice(int bits, int what) { return bits == 0 ? what != notify::success : (bits & what) != 0; }

// "rfc822;xtext" -> "rfc822;decoded". The address type is an atom; the
// decoded address is printable ASCII.
util::Result<std::string> parse_orcpt(std::string_view value);
// "rfc822;decoded" -> the parameter value again.
std::string format_orcpt(std::string_view decoded);

// RET=FULL|HDRS -> "FULL" / "HDRS"; ENVID=xtext -> decoded, printable.
util::Result<std::string> parse_ret(std::string_view value);
util::Result<std::string> parse_envid(std::string_view value);
// An envelope id as kept (decoded): printable ASCII, 1 to kMaxEnvid bytes
// (sendmail -V gives it so).
bool valid_envid(std::string_view id);

}  // namespace kurir::mail
