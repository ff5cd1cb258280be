// SMTPUTF8 (RFC 6531, 6532) as pure functions: what is UTF-8, when a
// message needs the extension, what the smtp client does with a message
// whose sender asked for it, and which submissions get the request by
// themselves (smtputf8_autodetect_classes), all as Postfix decides them.
//
// The request travels with the message as the queue file attribute
// "smtputf8=yes" (kSmtputf8Attr): smtpd sets it for MAIL FROM:<..> SMTPUTF8,
// pickup for a sendmail submission with UTF-8 in it, cleanup keeps it, the
// smtp client reads it.
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

inline constexpr std::string_view kSmtputf8Attr = "smtputf8";

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
// above U+10FFFF. Plain ASCII is UTF-8.
bool valid_utf8(std::string_view s);
bool all_ascii(std::string_view s);

// Whether a message needs SMTPUTF8 on the wire: UTF-8 (any byte above 0x7f)
// in the envelope sender, a recipient or the primary message header lines.
// The body does not count (that is 8BITMIME's).
bool needs_smtputf8(std::string_view sender, const std::vector<std::string>& recipients,
                    const std::vector<std::string_view>& header_lines);

// The smtp client's choice for one transaction, Postfix's rule: a message
// the sender flagged SMTPUTF8 goes with "SMTPUTF8" to a server that offers
// it; to one that does not, it goes without (downgraded) when nothing in
// its envelope or headers needs UTF-8, and bounces with 5.6.7 otherwise. An
// unflagged message goes as it is, as before SMTPUTF8.
enum class Smtputf8Send { plain, smtputf8, bounce };
Smtputf8Send smtputf8_decision(bool requested, bool server_offers, bool needs_utf8);

// smtpd's answers, Postfix's texts; each is empty when the thing may pass.
// A command line that is not UTF-8 while SMTPUTF8 is offered.
std::string smtputf8_line_refusal(std::string_view line, bool enabled);
// MAIL FROM's "SMTPUTF8" parameter (it takes no value).
std::string smtputf8_param_refusal(std::string_view value, bool enabled);
// A MAIL or RCPT address (internal form) in a transaction that declared
// SMTPUTF8 or not: a UTF-8 domain needs the declaration (else
// syntax_reply, as for any bad address); with strict_smtputf8 any UTF-8
// does (553 5.6.7). Without strict, a UTF-8 local part passes undeclared,
// as mail did before SMTPUTF8.
std::string smtputf8_address_refusal(std::string_view address, bool declared, bool strict,
                                     std::string_view syntax_reply);

// smtputf8_autodetect_classes: the submissions that get the request when
// they contain UTF-8. Postfix's names (bounce, notify, verify, sendmail,
// smtpd, qmqpd, forward, all) are accepted; kurir acts on sendmail (the
// others name sources that either set the request themselves or do not
// exist here). An unknown name is an error naming it.
struct Smtputf8Autodetect {
    bool sendmail = false;
};
util::Result<Smtputf8Autodetect> parse_smtputf8_autodetect(const std::vector<std::string>& classes);

}  // namespace kurir::mail
