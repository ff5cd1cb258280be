#include "tools/passwd_file.hpp"

namespace kurir::tools {

bool passwd_user_ok(std::string_view user) {
    if (user.empty() || user.size() > 255 || user[0] == '#') return false;
    for (char c : user) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return false;
    }
    return true;
}

std::string passwd_source_update(std::string_view text, std::string_view user,
                                 const std::optional<std::string>& value, bool& found) {
    found = false;
    std::string out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos + 1);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        // A line's key: from its start (not whitespace: that continues the
        // line before) up to whitespace.
        size_t end = line.find_first_of(" \t\r\n");
        std::string_view key = line.substr(0, end);
        if (!line.empty() && line[0] != ' ' && line[0] != '\t' && line[0] != '#' && key == user) {
            if (found) continue;  // a duplicate: the new line replaces both
            found = true;
            if (value) out += std::string(user) + " " + *value + "\n";
            continue;
        }
        out += line;
        if (nl == std::string_view::npos && !line.empty()) out += '\n';
    }
    if (!found && value) out += std::string(user) + " " + *value + "\n";
    return out;
}

}  // namespace kurir::tools
