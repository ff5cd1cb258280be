// What a name set in main.cf or as a master.cf "-o name=value" is to kurir:
// a parameter it implements (the table in mail/params), a Postfix parameter
// it does not implement, or a name it does not know at all. A few Postfix
// settings ask for security kurir does not provide (TLS, SASL); such a
// setting stops the mail system rather than be ignored: an administrator
// who asked for encryption must not get plaintext without a word.
#pragma once

#include <span>
#include <string_view>

namespace kurir::mail {

enum class ParamStatus { implemented, unimplemented, unknown };

ParamStatus param_status(std::string_view name);
// The Postfix parameters kurir knows it does not implement, sorted.
std::span<const std::string_view> unimplemented_params();

// What NAME = VALUE (expanded) asks for that kurir does not provide, as
// words for a message ("TLS", "SASL authentication"); empty when nothing.
std::string_view missing_security(std::string_view name, std::string_view value);

}  // namespace kurir::mail
