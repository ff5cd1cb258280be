#include "mail/auth_results.hpp"

namespace kurir::mail {
namespace {

constexpr size_t kFoldAt = 78;
constexpr size_t kMaxValue = 256;    // a domain name is at most 253
constexpr size_t kMaxComment = 200;

bool printable(char c) { return c >= 33 && c <= 126; }

bool tspecial(char c) {
    static constexpr std::string_view kTspecials = "()<>@,;:\\\"/[]?=";
    return kTspecials.find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!printable(c) || tspecial(c)) return false;
    return true;
}

// Printable ASCII and spaces stay, every other byte becomes "?".
std::string safe_text(std::string_view s, size_t limit) {
    std::string out;
    for (char c : s.substr(0, limit)) out.push_back(printable(c) || c == ' ' ? c : '?');
    return out;
}

std::string comment(std::string_view text) {
    std::string out = "(";
    for (char c : safe_text(text, kMaxComment)) {
        if (c == '(' || c == ')' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back(')');
    return out;
}

// Appends " word", or "\n\tword" when word would take the line past kFoldAt.
void append_folding(std::string& out, std::string_view word) {
    size_t line_start = out.rfind('\n');
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    bool line_has_words = out.size() - line_start > 1;  // more than the tab
    if (line_has_words && out.size() - line_start + 1 + word.size() > kFoldAt)
        out += "\n\t";
    else
        out += ' ';
    out += word;
}

// "name=value" as one word, or cut after the "=" (folding white space is
// allowed there, RFC 8601) when the word would not fit a line of 998: a
// quoted value with every byte escaped is twice kMaxValue.
void append_pair(std::string& out, const std::string& name, const std::string& value, bool own_line) {
    constexpr size_t kMaxLine = 998;
    std::string word = name + "=" + value;
    bool fits = word.size() + 1 <= kMaxLine;  // after the tab
    std::string first = fits ? word : name + "=";
    if (own_line)
        out += "\n\t" + first;
    else
        append_folding(out, first);
    if (!fits) out += "\n\t" + value;
}

bool wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Skips white space and (nested) comments; false for a comment left open.
bool skip_cfws(std::string_view s, size_t& pos) {
    while (pos < s.size()) {
        if (wsp(s[pos])) {
            ++pos;
            continue;
        }
        if (s[pos] != '(') return true;
        int depth = 0;
        for (; pos < s.size(); ++pos) {
            if (s[pos] == '\\') {
                ++pos;
            } else if (s[pos] == '(') {
                ++depth;
            } else if (s[pos] == ')' && --depth == 0) {
                ++pos;
                break;
            }
        }
        if (depth != 0) return false;
    }
    return true;
}

}  // namespace

std::string auth_results_value(std::string_view s) {
    std::string text = safe_text(s, kMaxValue);
    if (is_token(text)) return text;
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string format_auth_results(std::string_view authserv_id, const std::vector<AuthResult>& results) {
    std::string out = "Authentication-Results: " + auth_results_value(authserv_id) + ";";
    if (results.empty()) return out + " none";
    for (size_t i = 0; i < results.size(); ++i) {
        const AuthResult& r = results[i];
        append_pair(out, auth_results_value(r.method), auth_results_value(r.result), true);
        if (!r.comment.empty()) append_folding(out, comment(r.comment));
        for (const auto& [name, value] : r.properties)
            append_pair(out, auth_results_value(name), auth_results_value(value), false);
        if (i + 1 < results.size()) out += ";";
    }
    return out;
}

std::optional<std::string> auth_results_authserv_id(std::string_view value) {
    size_t pos = 0;
    if (!skip_cfws(value, pos) || pos == value.size()) return std::nullopt;
    std::string id;
    if (value[pos] == '"') {
        for (++pos; pos < value.size() && value[pos] != '"'; ++pos) {
            if (value[pos] == '\\' && pos + 1 < value.size()) ++pos;
            if (value[pos] != '\r' && value[pos] != '\n') id.push_back(value[pos]);
        }
        if (pos == value.size()) return std::nullopt;  // no closing quote
    } else {
        for (; pos < value.size() && printable(value[pos]) && !tspecial(value[pos]); ++pos) id.push_back(value[pos]);
    }
    if (id.empty()) return std::nullopt;
    return id;
}

}  // namespace kurir::mail
