// SMTP replies as a client reads them (RFC 5321 4.2): "250-first",
// "250 last", with an optional enhanced status code (RFC 3463) after the
// code. A pure parser over the bytes a remote server sent.
#pragma once

#include "util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

inline constexpr size_t kMaxReplyLine = 4096;
inline constexpr size_t kMaxReplyLines = 256;

struct SmtpReply {
    int code = 0;
    std::string enhanced;            // "5.1.1", or derived from code ("5.0.0")
    std::vector<std::string> lines;  // the text after "DDD-" / "DDD "
    // "550 5.1.1 text" with the lines joined by spaces, controls replaced.
    std::string text() const;
    int klass() const { return code / 100; }
};

// Parses one complete reply from the start of buf. nullopt: not complete
// yet; error: the bytes are not an SMTP reply. consumed: bytes it used.
util::Result<std::optional<SmtpReply>> parse_smtp_reply(std::string_view buf, size_t& consumed);

// What an EHLO reply offers.
struct EhloFeatures {
    bool pipelining = false;
    bool starttls = false;
    bool eightbitmime = false;
    bool dsn = false;
    bool smtputf8 = false;
    bool has_size = false;
    long size_limit = 0;  // 0: none announced
    bool auth = false;
    std::string auth_mechanisms;  // "plain login": every AUTH (or AUTH=) line's words
};
EhloFeatures parse_ehlo_features(const SmtpReply& reply);

}  // namespace kurir::mail
