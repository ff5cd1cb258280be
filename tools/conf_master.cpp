#include "tools/conf_master.hpp"

#include "mail/config.hpp"
#include "mail/main_cf.hpp"
#include "mail/master_cf.hpp"
#include "mail/master_cf_edit.hpp"
#include "mail/param_status.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

#include <fmt/format.h>
#include <sysexits.h>

#include <algorithm>
#include <cctype>

namespace kurir::tools {
namespace {

int fatal(int code, const std::string& text) {
    fmt::print(stderr, "kurir-conf: fatal: {}\n", text);
    return code;
}

void warn(const std::string& text) { fmt::print(stderr, "kurir-conf: warning: {}\n", text); }

bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& fields) {
    for (size_t i = 0; i < pattern.size() && i < 2; ++i)
        if (!mail::master_pattern_match(pattern[i], fields[i])) return false;
    return true;
}

bool valid_name(const std::string& n) {
    if (n.empty()) return false;
    for (char c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

// master.cf's entries; each must have the eight fields postconf needs.
util::Result<std::vector<mail::MasterCfText>> read_entries(const std::string& file, const std::string& text) {
    auto entries = mail::split_master_cf(text);
    for (const auto& e : entries)
        if (e.fields.size() < 8)
            return util::fail(
                fmt::format("{}:{}: bad field count (want service type private unpriv chroot wakeup "
                            "maxproc command)",
                            file, e.first_line + 1));
    return entries;
}

// Save an edited master.cf only if master would accept it.
int save_master(const std::string& dir, const std::string& text) {
    std::string file = dir + "/master.cf";
    auto services = mail::parse_master_cf(text, file);
    if (!services) return fatal(EX_CONFIG, "not saved: " + services.error().text);
    auto cfg = mail::Config::load(dir);
    if (!cfg) return fatal(EX_CONFIG, "not saved: " + cfg.error().text);
    auto checked = mail::check_service_options(*cfg, *services, file);
    if (!checked) return fatal(EX_CONFIG, "not saved: " + checked.error().text);
    for (const auto& w : *checked) warn(w);
    // Each service's -o values as its daemon will read them: typed, checked.
    for (const auto& s : *services) {
        std::vector<std::string> overrides;
        for (size_t i = 0; i + 1 < s.args.size(); ++i)
            if (s.args[i] == "-o") overrides.push_back(s.args[++i]);
        if (overrides.empty()) continue;
        if (auto c = mail::Config::load(dir, overrides); !c)
            return fatal(EX_CONFIG,
                         fmt::format("not saved: {}:{}: service {}: {}", file, s.line, s.name, c.error().text));
    }
    if (auto r = util::replace_file_durable(dir, "master.cf", text); !r) return fatal(EX_CANTCREAT, r.error().text);
    return 0;
}

}  // namespace

int show_master(const std::string& dir, char what, bool fold, const std::vector<std::string>& patterns) {
    std::string file = dir + "/master.cf";
    auto text = util::read_file(file);
    if (!text) return fatal(EX_CONFIG, text.error().text);
    auto entries = read_entries(file, *text);
    if (!entries) return fatal(EX_CONFIG, entries.error().text);
    std::vector<std::vector<std::string>> requests;
    for (const auto& p : patterns) {
        auto parts = mail::split_pattern(p);
        size_t most = what == 'M' ? 2 : 3;
        if (parts.size() > most || parts[0].empty())
            return fatal(EX_USAGE, what == 'M'   ? "-M option requires service_name[/type]"
                                   : what == 'F' ? "-F option requires service_name[/type[/field]]"
                                                 : "-P option requires service_name[/type[/parameter]]");
        if (what == 'F' && parts.size() == 3 && parts[2] != "*" && !mail::master_field_index(parts[2]))
            return fatal(EX_USAGE, fmt::format("invalid field name: \"{}\"", parts[2]));
        requests.push_back(std::move(parts));
    }
    if (requests.empty()) requests.push_back({"*", "*", "*"});
    std::vector<size_t> matched(requests.size(), 0);
    std::string out;
    for (const auto& e : *entries) {
        for (size_t r = 0; r < requests.size(); ++r) {
            const auto& req = requests[r];
            if (!matches(req, e.fields)) continue;
            std::string third = req.size() > 2 ? req[2] : "*";
            if (what == 'M') {
                out += mail::format_master_entry(e.fields, fold);
                ++matched[r];
            } else if (what == 'F') {
                for (size_t f = 0; f < std::size(mail::kMasterFieldNames); ++f)
                    if (third == "*" || mail::kMasterFieldNames[f] == third)
                        out += mail::format_master_field(e.fields, f);
                ++matched[r];
            } else {
                for (const auto& [name, value] : mail::master_params(e.fields))
                    if (third == "*" || name == third) {
                        out += fmt::format("{}/{}/{} = {}\n", e.fields[0], e.fields[1], name, value);
                        ++matched[r];
                    }
            }
        }
    }
    fmt::print("{}", out);
    for (size_t r = 0; r < requests.size() && !patterns.empty(); ++r)
        if (matched[r] == 0) warn(fmt::format("unmatched request: \"{}\"", patterns[r]));
    return 0;
}

int edit_master(const std::string& dir, char what, bool remove, const std::vector<std::string>& requests) {
    std::string file = dir + "/master.cf";
    auto text = util::read_file(file);
    if (!text) return fatal(EX_CONFIG, text.error().text);
    std::string out = *text;
    for (const auto& req : requests) {
        auto entries = read_entries(file, out);
        if (!entries) return fatal(EX_CONFIG, entries.error().text);
        size_t eq = req.find('=');
        if (remove == (eq != std::string::npos))
            return fatal(EX_USAGE, remove ? fmt::format("-X wants a name, not name=value: \"{}\"", req)
                                          : fmt::format("edit wants key=value: \"{}\"", req));
        std::string key = req.substr(0, eq);
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
        std::string value =
            eq == std::string::npos ? "" : std::string(util::trim(std::string_view(req).substr(eq + 1)));
        auto parts = mail::split_pattern(key);
        size_t want = what == 'M' ? 2 : 3;
        if (parts.size() != want || parts[0].empty() || parts[1].empty() || parts.back().empty())
            return fatal(EX_USAGE, fmt::format("\"{}\": want {}", req,
                                               what == 'M'   ? "service/type"
                                               : what == 'F' ? "service/type/field"
                                                             : "service/type/parameter"));
        if (value.find('\n') != std::string::npos)
            return fatal(EX_USAGE, fmt::format("\"{}\": value has a newline", req));
        std::optional<size_t> field;
        if (what == 'F') {
            if (remove) return fatal(EX_USAGE, "-F cannot be used with -X");
            field = mail::master_field_index(parts[2]);
            if (!field) return fatal(EX_USAGE, fmt::format("invalid field name: \"{}\"", parts[2]));
            if (*field != 7 && (value.empty() || value.find_first_of(" \t") != std::string::npos))
                return fatal(EX_USAGE, fmt::format("\"{}\": a field value is one word", req));
        }
        if (what == 'P') {
            if (!valid_name(parts[2])) return fatal(EX_USAGE, fmt::format("bad parameter name: \"{}\"", parts[2]));
            if (!remove) {
                if (mail::param_status(parts[2]) == mail::ParamStatus::unknown)
                    return fatal(EX_CONFIG, fmt::format("{}: unknown parameter", parts[2]));
                if (value.find_first_of(" \t") != std::string::npos)
                    return fatal(EX_USAGE, fmt::format("\"{}\": a -o value in master.cf cannot hold blanks", req));
            }
        }
        size_t changed = 0;
        // Back to front: an edit changes only the lines of its own entry.
        for (auto it = entries->rbegin(); it != entries->rend(); ++it) {
            if (!matches(parts, it->fields)) continue;
            std::vector<std::string> fields = it->fields;
            if (what == 'M') {
                if (remove) {
                    fields.clear();
                } else {
                    auto given = mail::split_master_cf(value);
                    fields = given.empty() ? std::vector<std::string>{} : given[0].fields;
                    if (fields.size() < 8 || fields[0] != it->fields[0] || fields[1] != it->fields[1])
                        return fatal(EX_USAGE,
                                     fmt::format("\"{}\": the entry must be \"{} {} ...\" with 8 fields or more", req,
                                                 it->fields[0], it->fields[1]));
                }
            } else if (what == 'F') {
                mail::set_master_field(fields, *field, value);
            } else if (remove) {
                if (!mail::remove_master_param(fields, parts[2])) continue;
            } else {
                mail::set_master_param(fields, parts[2], value);
            }
            out = mail::replace_master_entry(out, *it, fields);
            ++changed;
        }
        if (changed == 0 && what == 'M' && !remove && parts[0] != "*" && parts[1] != "*") {
            auto fields = mail::split_master_cf(value);
            if (fields.empty() || fields[0].fields.size() < 8 || fields[0].fields[0] != parts[0] ||
                fields[0].fields[1] != parts[1])
                return fatal(EX_USAGE, fmt::format("\"{}\": the entry must be \"{} {} ...\" with 8 fields or more", req,
                                                   parts[0], parts[1]));
            if (!out.empty() && !out.ends_with("\n")) out += "\n";
            out += mail::format_master_entry(fields[0].fields, true);
            ++changed;
        }
        if (changed == 0) return fatal(EX_CONFIG, fmt::format("no master.cf entry matches \"{}\"", key));
    }
    return save_master(dir, out);
}

int remove_main(const std::string& dir, bool comment_out, const std::vector<std::string>& names) {
    auto text = util::read_file(dir + "/main.cf");
    if (!text) return fatal(EX_CONFIG, text.error().text);
    auto entries = mail::parse_main_cf(*text, dir + "/main.cf");
    if (!entries) return fatal(EX_CONFIG, entries.error().text);
    std::string out = *text;
    for (const auto& n : names) {
        if (n.find('=') != std::string::npos)
            return fatal(EX_USAGE,
                         fmt::format("-{} wants parameter names, not name=value: \"{}\"", comment_out ? '#' : 'X', n));
        bool set = std::any_of(entries->begin(), entries->end(), [&](const auto& e) { return e.name == n; });
        if (!valid_name(n) || (!set && mail::param_status(n) == mail::ParamStatus::unknown))
            return fatal(EX_CONFIG, fmt::format("{}: unknown parameter", n));
        out = mail::remove_main_cf(out, n, comment_out);
    }
    auto check = mail::Config::from_text(out, dir);
    if (!check) return fatal(EX_CONFIG, "not saved: " + check.error().text);
    if (out == *text) return 0;
    if (auto r = util::replace_file_durable(dir, "main.cf", out); !r) return fatal(EX_CANTCREAT, r.error().text);
    return 0;
}

}  // namespace kurir::tools
