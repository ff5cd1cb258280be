// What the milter client needs from main.cf (smtpd_milters or
// non_smtpd_milters, milter_default_action, the timeouts, milter_protocol,
// the milter_*_macros lists), and the message as a milter sees it: header
// fields (name, value) and the body with CRLF line ends. Pure functions:
// the conversation itself is server/milter_conn (smtpd) and the cleanup
// driver.
#pragma once

#include "mail/config.hpp"
#include "mail/milter_limits.hpp"
#include "mail/milter_proto.hpp"
#include "util/result.hpp"

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::mail::milter {

// milter_default_action: what a milter that cannot be reached, dies, hangs
// or answers garbage amounts to.
enum class DefaultAction { accept, reject, tempfail, quarantine };

// The macro lists by stage: MacroStage's seven, then the unknown command's.
constexpr size_t kMacroStages = 8;
constexpr size_t kUnknownStage = 7;

struct MilterConfig {
    std::vector<std::string> milters;  // "inet:host:port", "unix:/path"
    DefaultAction default_action = DefaultAction::tempfail;
    long connect_timeout = 30, command_timeout = 30, content_timeout = 300;
    uint32_t protocol = kVersion;
    std::array<std::vector<std::string>, kMacroStages> macros;  // names as configured: "i", "{auth_authen}"
    std::string daemon_name;  // milter_macro_daemon_name
    std::string v;            // milter_macro_v
    EditLimits edit_limits;   // milter_limits.hpp
};

// list_param: "smtpd_milters" or "non_smtpd_milters". A milter in { }
// (Postfix's per-milter settings) is an error naming it.
util::Result<MilterConfig> load_milter_config(const Config& cfg, std::string_view list_param);

// The SMTP reply a default action gives; empty for accept and quarantine.
std::string default_action_reply(DefaultAction action);

// The steps the client offers in OPTNEG for a protocol version: every one
// it implements, except rcpt_rejected (rejected recipients are not sent).
uint32_t offered_steps(uint32_t protocol);

struct MilterMessage {
    std::vector<std::pair<std::string, std::string>> headers;  // value: folded lines joined by "\n"
    std::string body;                                          // CRLF line ends
};

// A message's content as lines without their line ends. The header ends
// at the first empty line or the first line that is neither a header field
// nor a continuation; leading_space keeps the space after the colon
// (SMFIP_HDR_LEADSPC), else one space there is dropped.
MilterMessage split_message(const std::vector<std::string>& lines, bool leading_space);
// The same over the lines as one text, each ended by "\n" (the form smtpd
// and cleanup keep a message in: a line costs one byte, not a string).
MilterMessage split_message(std::string_view text, bool leading_space);

}  // namespace kurir::mail::milter
