#include "mail/content_line.hpp"

namespace kurir::mail {

void mask_stray_cr_lf(std::string& text) {
    for (char& c : text)
        if (c == '\r' || c == '\n') c = ' ';
}

std::string parse_strip_characters(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            out += text[i];
            continue;
        }
        char c = text[++i];
        switch (c) {
            case 'a': out += '\a'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'v': out += '\v'; break;
            case '\\': out += '\\'; break;
            default:
                if (c >= '0' && c <= '7') {  // up to three octal digits
                    int v = c - '0';
                    for (int k = 0; k < 2 && i + 1 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '7'; ++k)
                        v = v * 8 + (text[++i] - '0');
                    out += static_cast<char>(v & 0xff);
                } else {  // not an escape: both stay
                    out += '\\';
                    out += c;
                }
        }
    }
    return out;
}

std::string strip_characters(std::string_view data, std::string_view strip) {
    std::string out;
    out.reserve(data.size());
    for (char c : data)
        if (strip.find(c) == strip.npos) out += c;
    return out;
}

}  // namespace kurir::mail
