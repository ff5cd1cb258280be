// The addresses in a message header, rewritten in place, as a pure
// function: RFC 5322 address lists with display names, comments, quoted
// strings, groups and folding are parsed, each mailbox's address is handed
// to the caller in internal form, and only the bytes of an address that
// changes are replaced (in external form, quoted as needed); names,
// comments, separators and line folds stay as they were. Used by cleanup
// for canonical_maps and masquerade_domains in headers.
#pragma once

#include "util/result.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace kurir::mail {

// Which of Postfix's address classes a header's addresses belong to
// (Postfix's header_opts: From, Sender, Reply-To, Errors-To,
// Return-Receipt-To, Disposition-Notification-To and their Resent- forms
// are senders; To, Cc, Bcc, Apparently-To and their Resent- forms are
// recipients).
enum class HeaderAddressClass { none, sender, recipient };
HeaderAddressClass header_address_class(std::string_view name);

// An address in internal form in, its replacement out (the same address
// for no change); an error stops the rewrite and is returned.
using AddressRewrite = std::function<util::Result<std::string>(std::string_view address)>;

// value: a header's value (after "Name:"), possibly folded. What cannot be
// parsed as an address (a phrase alone, "<>", a group name) is left alone.
util::Result<std::string> rewrite_address_list(std::string_view value, const AddressRewrite& rewrite);

}  // namespace kurir::mail
