#include "mail/header.hpp"

#include <cctype>

namespace kurir::mail {

std::string_view header_name(std::string_view line) {
    size_t colon = line.substr(0, kMaxHeaderName + 1).find(':');
    if (colon == std::string_view::npos || colon == 0) return {};
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (name.empty()) return {};
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 32 || u >= 127) return {};
    }
    return name;
}

bool is_continuation(std::string_view line) {
    return !line.empty() && (line.front() == ' ' || line.front() == '\t');
}

bool header_is(std::string_view line, std::string_view name) {
    std::string_view n = header_name(line);
    if (n.size() != name.size()) return false;
    for (size_t i = 0; i < n.size(); ++i)
        if (tolower(static_cast<unsigned char>(n[i])) != tolower(static_cast<unsigned char>(name[i])))
            return false;
    return true;
}

}  // namespace kurir::mail
