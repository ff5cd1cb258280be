// The smtp program started as lmtp (master.cf "lmtp unix - - n - - lmtp")
// reads Postfix's lmtp_* parameters where it would read smtp_* ones, as
// Postfix's smtp/lmtp pair does: smtp_helo_timeout is lmtp_lhlo_timeout,
// smtp_helo_name is lmtp_lhlo_name, any other smtp_X is lmtp_X. Only the
// names the client reads are mapped (and declared in mail/params.cpp).
#pragma once

#include <string>
#include <string_view>

namespace kurir::smtp {

enum class Protocol { smtp, lmtp };

// The parameter the client of protocol reads for smtp_name.
std::string client_param(Protocol protocol, std::string_view smtp_name);

// "smtp" or "lmtp": the program name, and the prefix of its parameters.
std::string_view protocol_name(Protocol protocol);

}  // namespace kurir::smtp
