#include "util/json.hpp"

#include <fmt/format.h>

namespace kurir::util {

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (u < 0x20 || u == 0x7f)
                    out += fmt::format("\\u{:04x}", u);
                else
                    out += c;
        }
    }
    return out + "\"";
}

}  // namespace kurir::util
