#include "mail/master_cf_edit.hpp"

#include "mail/main_cf.hpp"
#include "mail/master_cf.hpp"

#include "util/text.hpp"

#include <algorithm>

namespace kurir::mail {
namespace {

constexpr size_t kLineLimit = 80;
constexpr size_t kIndent = 4;
constexpr size_t kColumnGoal[] = {0, 11, 17, 25, 33, 41, 49, 57};
constexpr size_t kMinFields = 8;

// Where the daemon options end: the first argument that is no option, or "--".
size_t options_end(const std::vector<std::string>& f) {
    size_t i = kMinFields;
    while (i < f.size() && f[i].starts_with("-") && f[i] != "--") i += (f[i] == "-o" && i + 1 < f.size()) ? 2 : 1;
    return std::min(i, f.size());
}

}  // namespace

std::vector<MasterCfText> split_master_cf(std::string_view text) {
    std::vector<MasterCfText> out;
    auto lines = physical_lines(text);
    for (size_t i = 0; i < lines.size(); ++i) {
        int k = config_line_kind(lines[i]);
        if (k == 1 || (k == 2 && out.empty())) {
            out.push_back({master_cf_fields(lines[i]), i, i});
        } else if (k == 2) {
            auto more = master_cf_fields(lines[i]);
            out.back().fields.insert(out.back().fields.end(), more.begin(), more.end());
            out.back().last_line = i;
        }
    }
    return out;
}

std::string format_master_entry(const std::vector<std::string>& f, bool fold) {
    std::string out;
    size_t len = 0;
    auto add = [&](std::string_view s) {
        out += s;
        len += s.size();
    };
    size_t field = 0;
    for (; field < kMinFields && field < f.size(); ++field) {
        if (len > 0) {  // one space at least, then on to the column
            add(" ");
            while (len < kColumnGoal[field]) add(" ");
        }
        add(f[field]);
    }
    bool in_options = true;
    for (; field < f.size(); ++field) {
        const std::string& arg = f[field];
        size_t arg_len = arg.size();
        const std::string* value = nullptr;
        if (in_options) {
            if (!arg.starts_with("-") || arg == "--") {
                in_options = false;
            } else if (arg == "-o" && field + 1 < f.size()) {
                value = &f[field + 1];
                len = kLineLimit;  // a line of its own
                arg_len += value->size() + 3;
            }
        }
        if (len > kIndent) {
            if (!fold || len + 1 + arg_len < kLineLimit) {
                add(" ");
            } else {
                out += "\n" + std::string(kIndent, ' ');
                len = kIndent;
            }
        }
        add(arg);
        if (value) {
            add(" ");
            add(*value);
            ++field;
            len = kLineLimit;
        }
    }
    return out + "\n";
}

std::optional<size_t> master_field_index(std::string_view name) {
    for (size_t i = 0; i < std::size(kMasterFieldNames); ++i)
        if (kMasterFieldNames[i] == name) return i;
    return std::nullopt;
}

std::string format_master_field(const std::vector<std::string>& f, size_t field) {
    std::string value = f[field];
    if (field == kMinFields - 1)
        for (size_t i = field + 1; i < f.size(); ++i) value += " " + f[i];
    return f[0] + "/" + f[1] + "/" + std::string(kMasterFieldNames[field]) + " = " + value + "\n";
}

std::vector<std::pair<std::string, std::string>> master_params(const std::vector<std::string>& f) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t end = options_end(f);
    for (size_t i = kMinFields; i < end; ++i) {
        if (f[i] != "-o" || i + 1 >= f.size()) continue;
        const std::string& o = f[++i];
        size_t eq = o.find('=');
        if (eq == std::string::npos) continue;
        std::string name = o.substr(0, eq);
        std::erase_if(out, [&](const auto& p) { return p.first == name; });  // the last one counts
        out.emplace_back(name, o.substr(eq + 1));
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
}

void set_master_param(std::vector<std::string>& f, const std::string& name, const std::string& value) {
    bool found = false;
    size_t end = options_end(f);
    for (size_t i = kMinFields; i < end; ++i) {
        if (f[i] != "-o" || i + 1 >= f.size()) continue;
        std::string& o = f[++i];
        if (o.starts_with(name + "=")) {
            o = name + "=" + value;
            found = true;
        }
    }
    if (!found) f.insert(f.begin() + static_cast<long>(end), {"-o", name + "=" + value});
}

bool remove_master_param(std::vector<std::string>& f, const std::string& name) {
    bool found = false;
    size_t end = options_end(f);
    for (size_t i = kMinFields; i + 1 < end && i + 1 < f.size();) {
        if (f[i] == "-o" && f[i + 1].starts_with(name + "=")) {
            f.erase(f.begin() + static_cast<long>(i), f.begin() + static_cast<long>(i) + 2);
            end -= 2;
            found = true;
        } else {
            i += f[i] == "-o" ? 2 : 1;
        }
    }
    return found;
}

void set_master_field(std::vector<std::string>& f, size_t field, std::string_view value) {
    if (field == kMinFields - 1) {
        f.resize(field);
        for (auto& w : master_cf_fields(value)) f.push_back(std::move(w));
    } else {
        f[field] = std::string(value);
    }
}

bool master_pattern_match(std::string_view pattern_part, std::string_view value) {
    return pattern_part == "*" || pattern_part == value;
}

std::vector<std::string> split_pattern(std::string_view pattern) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (true) {
        size_t slash = pattern.find('/', pos);
        out.emplace_back(pattern.substr(pos, slash == std::string_view::npos ? slash : slash - pos));
        if (slash == std::string_view::npos) break;
        pos = slash + 1;
    }
    return out;
}

std::string replace_master_entry(std::string_view text, const MasterCfText& which,
                                 const std::vector<std::string>& fields) {
    auto lines = physical_lines(text);
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (i < which.first_line || i > which.last_line) {
            out += lines[i];
            if (i + 1 == lines.size() && !out.ends_with("\n")) out += "\n";
            continue;
        }
        if (i == which.first_line && !fields.empty()) out += format_master_entry(fields, true);
        if (config_line_kind(lines[i]) == 0) out += lines[i];  // a comment inside the entry stays
    }
    return out;
}

}  // namespace kurir::mail
