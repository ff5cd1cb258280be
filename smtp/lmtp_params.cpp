#include "smtp/lmtp_params.hpp"

namespace kurir::smtp {

std::string client_param(Protocol protocol, std::string_view smtp_name) {
    if (protocol == Protocol::smtp || !smtp_name.starts_with("smtp_")) return std::string(smtp_name);
    if (smtp_name == "smtp_helo_timeout") return "lmtp_lhlo_timeout";
    if (smtp_name == "smtp_helo_name") return "lmtp_lhlo_name";
    return "lmtp_" + std::string(smtp_name.substr(5));
}

std::string_view protocol_name(Protocol protocol) { return protocol == Protocol::lmtp ? "lmtp" : "smtp"; }

}  // namespace kurir::smtp
