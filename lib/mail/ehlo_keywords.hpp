// smtpd_discard_ehlo_keywords: EHLO keywords smtpd does not announce (and
// whose commands it then refuses), as Postfix: a case-insensitive list;
// "silent-discard" (or "silent_discard") turns off the log line that names
// what was discarded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

struct EhloDiscard {
    std::vector<std::string> keywords;  // lowercased
    bool silent = false;

    bool discards(std::string_view keyword) const;
};

EhloDiscard parse_ehlo_discard(const std::vector<std::string>& list);

// reply: a whole EHLO reply ("250-host\r\n250-PIPELINING\r\n...250 DSN"),
// without its last CRLF. Returns it without the discarded keyword lines
// (the greeting line stays), the continuation marks set again; the
// keywords dropped are appended to dropped (uppercase, as announced).
std::string discard_ehlo_keywords(std::string_view reply, const EhloDiscard& discard,
                                  std::vector<std::string>& dropped);

}  // namespace kurir::mail
