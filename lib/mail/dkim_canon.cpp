#include "mail/dkim_canon.hpp"

#include <cctype>

namespace kurir::mail {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// Line ends of any kind (CRLF, bare LF, bare CR) made CRLF.
std::string crlf_line_ends(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            out += "\r\n";
            if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
        } else if (s[i] == '\n') {
            out += "\r\n";
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

}  // namespace

std::string dkim_header(DkimCanon canon, std::string_view name, std::string_view value) {
    if (canon == DkimCanon::simple) return crlf_line_ends(std::string(name) + ":" + std::string(value)) + "\r\n";
    std::string out;
    out.reserve(name.size() + value.size() + 3);
    size_t name_end = name.size();
    while (name_end > 0 && is_wsp(name[name_end - 1])) --name_end;
    for (size_t i = 0; i < name_end; ++i)
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(name[i]))));
    out.push_back(':');
    bool space = false;
    bool started = false;
    for (char c : value) {
        if (c == '\r' || c == '\n') continue;  // unfold
        if (is_wsp(c)) {
            space = started;
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        started = true;
        out.push_back(c);
    }
    out += "\r\n";
    return out;
}

void DkimBodyCanon::emit(std::string_view bytes) {
    if (limit_) {
        if (written_ >= *limit_) return;
        if (bytes.size() > *limit_ - written_) bytes = bytes.substr(0, static_cast<size_t>(*limit_ - written_));
    }
    written_ += bytes.size();
    sink_(bytes);
}

void DkimBodyCanon::line(std::string_view content) {
    std::string_view canonical = content;
    if (canon_ == DkimCanon::relaxed) {
        scratch_.clear();
        bool space = false;
        for (char c : content) {
            if (is_wsp(c)) {
                space = true;
                continue;
            }
            if (space) scratch_.push_back(' ');
            space = false;
            scratch_.push_back(c);
        }
        canonical = scratch_;
    }
    if (canonical.empty()) {
        ++pending_empty_;
        return;
    }
    for (; pending_empty_ > 0; --pending_empty_) emit("\r\n");
    emit(canonical);
    emit("\r\n");
    any_ = true;
}

void DkimBodyCanon::finish() {
    if (!any_ && canon_ == DkimCanon::simple) emit("\r\n");
    pending_empty_ = 0;
}

}  // namespace kurir::mail
