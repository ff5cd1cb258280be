#include "mail/main_cf.hpp"

#include "util/text.hpp"

#include <cctype>
#include <fmt/format.h>

#include <algorithm>

namespace kurir::mail {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

using util::trim;

bool valid_param_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    return true;
}

}  // namespace

util::Result<std::vector<MainCfEntry>> parse_main_cf(std::string_view text, const std::string& file) {
    std::vector<MainCfEntry> entries;
    if (size_t nul = text.find('\0'); nul != std::string_view::npos)
        return util::fail(fmt::format("{}:{}: contains a NUL byte", file, util::line_number_at(text, nul)));
    for (auto& ll : util::logical_lines(text)) {
        auto eq = ll.text.find('=');
        if (eq == std::string::npos)
            return util::fail(fmt::format("{}:{}: missing '=' after parameter name: \"{}\"", file,
                                          ll.line, ll.text.substr(0, 60)));
        std::string name(trim(std::string_view(ll.text).substr(0, eq)));
        if (!valid_param_name(name))
            return util::fail(fmt::format("{}:{}: bad parameter name: \"{}\"", file, ll.line,
                                          name.substr(0, 60)));
        entries.push_back({name, std::string(trim(std::string_view(ll.text).substr(eq + 1))), ll.line});
    }
    return entries;
}

util::Result<std::string> expand_value(std::string_view value, const RawLookup& raw, int depth) {
    return expand_value(
        value,
        RawValueOf([&raw](std::string_view name) -> std::optional<std::string_view> {
            auto it = raw.find(name);
            if (it == raw.end()) return std::nullopt;
            return it->second;
        }),
        depth);
}

util::Result<std::string> expand_value(std::string_view value, const RawValueOf& raw, int depth) {
    if (depth > 100) return util::fail("parameter expansion too deep (recursive $name?)");
    std::string out;
    size_t i = 0;
    auto lookup = [&](std::string_view name) -> util::Result<std::string> {
        auto found = raw(name);
        if (!found) return std::string();
        return expand_value(*found, raw, depth + 1);
    };
    while (i < value.size()) {
        char c = value[i];
        if (c != '$') {
            out += c;
            ++i;
            continue;
        }
        ++i;
        if (i >= value.size()) {
            out += '$';
            break;
        }
        if (value[i] == '$') {
            out += '$';
            ++i;
            continue;
        }
        if (value[i] == '{' || value[i] == '(') {
            char close = value[i] == '{' ? '}' : ')';
            size_t start = i + 1;
            int nest = 1;
            size_t j = start;
            for (; j < value.size() && nest > 0; ++j) {
                if (value[j] == value[i]) ++nest;
                if (value[j] == close) --nest;
            }
            if (nest != 0) return util::fail(fmt::format("unbalanced '{}' in \"{}\"", value[i], value));
            std::string_view inner = value.substr(start, j - 1 - start);
            i = j;
            size_t op = inner.find_first_of("?:");
            std::string_view name = inner.substr(0, op);
            auto v = lookup(name);
            if (!v) return v;
            if (op == std::string_view::npos) {
                out += *v;
            } else {
                bool set = !v->empty();
                if ((inner[op] == '?') == set) {
                    auto alt = expand_value(inner.substr(op + 1), raw, depth + 1);
                    if (!alt) return alt;
                    out += *alt;
                }
            }
            continue;
        }
        size_t start = i;
        while (i < value.size() && (isalnum(static_cast<unsigned char>(value[i])) || value[i] == '_'))
            ++i;
        if (i == start) {
            out += '$';
            continue;
        }
        auto v = lookup(value.substr(start, i - start));
        if (!v) return v;
        out += *v;
    }
    return out;
}

std::vector<std::string_view> physical_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    for (size_t pos = 0; pos < text.size();) {
        size_t nl = text.find('\n', pos);
        size_t end = nl == text.npos ? text.size() : nl + 1;
        lines.push_back(text.substr(pos, end - pos));
        pos = end;
    }
    return lines;
}

int config_line_kind(std::string_view l) {
    std::string_view t = trim(l);
    if (t.empty() || t.front() == '#') return 0;  // comment or blank
    return is_space(l.front()) ? 2 : 1;           // continuation or start
}

std::string remove_main_cf(std::string_view text, const std::string& name, bool comment_out) {
    auto lines = physical_lines(text);
    std::string out;
    bool inside = false;  // in the entry being removed (its continuation lines)
    for (auto l : lines) {
        int k = config_line_kind(l);
        if (k == 1) {
            auto eq = l.find('=');
            inside = eq != std::string_view::npos && trim(l.substr(0, eq)) == name;
        }
        if (!inside || k == 0) {
            out += l;
        } else if (comment_out) {
            out += "#";
            out += l;
        }
    }
    return out;
}

std::string edit_main_cf(std::string_view text, const std::string& name, const std::string& value) {
    // Work on the entries as the parser sees them: an entry starts on a
    // line at the left margin and takes every whitespace-led line after it
    // (comments and blank lines in between are kept, but belong to nobody).
    std::vector<std::string_view> lines = physical_lines(text);
    auto kind = config_line_kind;
    std::string out;
    bool done = false;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (kind(lines[i]) != 1) {
            out += lines[i];
            continue;
        }
        // The logical entry: this line and its continuation lines.
        size_t last = i;
        std::string logical(trim(lines[i]));
        for (size_t j = i + 1; j < lines.size() && kind(lines[j]) != 1; ++j)
            if (kind(lines[j]) == 2) {
                logical += " " + std::string(trim(lines[j]));
                last = j;
            }
        auto eq = logical.find('=');
        std::string entry_name(trim(std::string_view(logical).substr(0, eq)));
        if (eq == std::string::npos || entry_name != name) {
            out += lines[i];
            continue;
        }
        if (!done) out += name + " = " + value + "\n";
        done = true;
        // Keep the comments and blank lines inside the old entry, drop its value lines.
        for (size_t j = i + 1; j <= last; ++j)
            if (kind(lines[j]) == 0) out += lines[j];
        i = last;
    }
    if (!done) {
        if (!out.empty() && out.back() != '\n') out += '\n';
        out += name + " = " + value + "\n";
    }
    return out;
}

}  // namespace kurir::mail
