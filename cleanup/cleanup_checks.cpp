#include "cleanup/cleanup_checks.hpp"

#include "mail/header.hpp"

#include <fmt/format.h>

#include <cctype>
#include <strings.h>

namespace kurir::cleanup {

namespace {

bool blank(char c) { return c == ' ' || c == '\t'; }

// "5.7.1" and the like: class, subject and detail of 1-3 digits each.
size_t dsn_length(std::string_view t) {
    size_t i = 0;
    auto digits = [&](size_t max) {
        size_t start = i;
        while (i < t.size() && i - start < max && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
        return i > start;
    };
    if (!digits(1)) return 0;
    if (i >= t.size() || t[i++] != '.') return 0;
    if (!digits(3)) return 0;
    if (i >= t.size() || t[i++] != '.') return 0;
    if (!digits(3)) return 0;
    if (i < t.size() && !blank(t[i])) return 0;
    return i;
}

// A header as PREPEND and REPLACE need it: "name: value".
bool is_header_text(std::string_view t) { return !mail::header_name(t).empty(); }

}  // namespace

CheckVerdict parse_check_action(std::string_view value, bool in_header, std::string_view map_class) {
    size_t cmd_end = 0;
    while (cmd_end < value.size() && !blank(value[cmd_end])) ++cmd_end;
    std::string cmd(value.substr(0, cmd_end));
    std::string_view text = value.substr(cmd_end);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    auto is = [&](const char* name) { return ::strcasecmp(cmd.c_str(), name) == 0; };
    CheckVerdict v;
    v.text = std::string(text);
    auto warn = [&](std::string w) {
        v.action = CheckAction::dunno;
        v.warning = std::move(w);
        return v;
    };
    if (is("REJECT")) {
        v.action = CheckAction::reject;
    } else if (is("WARN")) {
        v.action = CheckAction::warn;
    } else if (is("FILTER")) {
        if (text.empty()) return warn(fmt::format("missing FILTER command argument in {} map", map_class));
        if (text.find(':') == text.npos)
            return warn(fmt::format("bad FILTER command {} in {} -- need transport:destination", text, map_class));
        v.action = CheckAction::filter;
    } else if (is("DISCARD")) {
        v.action = CheckAction::discard;
    } else if (is("HOLD")) {
        v.action = CheckAction::hold;
    } else if (is("PREPEND") || is("REPLACE")) {
        const char* name = is("PREPEND") ? "PREPEND" : "REPLACE";
        if (text.empty()) return warn(fmt::format("{} action without text in {} map", name, map_class));
        if (in_header && !is_header_text(text))
            return warn(fmt::format("bad {} header text \"{}\" in {} map -- need \"headername: headervalue\"", name,
                                    text, map_class));
        v.action = is("PREPEND") ? CheckAction::prepend : CheckAction::replace;
    } else if (is("REDIRECT")) {
        if (text.find('@') == text.npos)
            return warn(fmt::format("bad REDIRECT target \"{}\" in {} map -- need user@domain", text, map_class));
        v.action = CheckAction::redirect;
    } else if (is("IGNORE")) {
        v.action = CheckAction::ignore;
    } else if (is("DUNNO") || is("OK")) {
        v.action = CheckAction::dunno;
    } else {
        return warn(fmt::format("unknown command in {} map: {}", map_class, value));
    }
    return v;
}

std::string reject_reason(std::string_view text) {
    if (text.empty()) return "5.7.1 message content rejected";
    size_t n = dsn_length(text);
    if (n == 0) return "5.7.1 " + std::string(text);
    std::string r(text);
    if (r[0] != '4' && r[0] != '5') r[0] = '4';  // Postfix: "bad DSN action ... need 4.x.x or 5.x.x"
    return r;
}

std::string check_log_line(const CheckLogContext& c, std::string_view action, std::string_view cls,
                           std::string_view content, std::string_view text) {
    std::string shown(content.substr(0, 200));
    for (char& ch : shown)
        if (ch == '\n' || ch == '\r') ch = ' ';
    std::string line = fmt::format("{}: {}: {} {} from {};", c.queue_id, action, cls, shown,
                                   c.origin.empty() ? "unknown" : c.origin);
    line += fmt::format(" from=<{}>", c.sender);
    if (!c.recipient.empty()) line += fmt::format(" to=<{}>", c.recipient);
    if (!c.proto.empty()) line += fmt::format(" proto={}", c.proto);
    if (!c.helo.empty()) line += fmt::format(" helo=<{}>", c.helo);
    if (!text.empty()) line += fmt::format(": {}", text);
    return line;
}

}  // namespace kurir::cleanup
