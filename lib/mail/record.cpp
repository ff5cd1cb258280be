#include "mail/record.hpp"

namespace kurir::mail {

void rec_append(std::string& out, char type, std::string_view data) {
    out += type;
    size_t len = data.size();
    do {
        unsigned char b = len & 0x7f;
        len >>= 7;
        if (len) b |= 0x80;
        out += static_cast<char>(b);
    } while (len);
    out += data;
}

RecStatus rec_next(std::string_view buf, size_t& pos, RecView& out) {
    if (pos >= buf.size()) return RecStatus::need_more;
    size_t p = pos;
    char type = buf[p++];
    if (!(type >= 'A' && type <= 'Z')) return RecStatus::bad;
    size_t len = 0;
    for (int shift = 0;; shift += 7) {
        if (shift > 28) return RecStatus::bad;
        if (p >= buf.size()) return RecStatus::need_more;
        auto b = static_cast<unsigned char>(buf[p++]);
        len |= static_cast<size_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
    }
    if (len > kMaxRecord) return RecStatus::bad;
    if (buf.size() - p < len) return RecStatus::need_more;
    out.type = type;
    out.data = buf.substr(p, len);
    out.offset = pos;
    pos = p + len;
    return RecStatus::ok;
}

void rec_append_line(std::string& out, std::string_view line, size_t max_piece) {
    while (line.size() > max_piece) {
        rec_append(out, rec::part, line.substr(0, max_piece));
        line.remove_prefix(max_piece);
    }
    rec_append(out, rec::line, line);
}

}  // namespace kurir::mail

namespace kurir::mail {

void rec_append_field(std::string& out, std::string_view field, size_t max_piece) {
    for_each_field_line(field, [&](std::string_view line) { rec_append_line(out, line, max_piece); });
}

bool is_prepend_field(std::string_view text) {
    size_t colon = text.find(':');
    if (colon == 0 || colon == text.npos) return false;
    for (char c : text.substr(0, colon))
        if (c <= ' ' || c > '~') return false;
    size_t pos = colon + 1;
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == text.npos ? text.npos : nl - pos);
        if (line.find('\r') != line.npos || line.find('\0') != line.npos) return false;
        if (nl == text.npos) return true;
        pos = nl + 1;
        if (pos == text.size() || (text[pos] != ' ' && text[pos] != '\t')) return false;
        std::string_view next = text.substr(pos, text.find('\n', pos) - pos);
        if (next.find_first_not_of(" \t") == next.npos) return false;  // a blank line would end the headers
    }
    return true;
}

}  // namespace kurir::mail
