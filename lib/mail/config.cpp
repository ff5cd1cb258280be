#include "mail/config.hpp"

#include "build_paths.hpp"
#include "mail/param_status.hpp"
#include "mail/restrictions.hpp"
#include "util/fs.hpp"

#include <cctype>
#include <fmt/format.h>
#include <netdb.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

namespace kurir::mail {
namespace {

using NameSet = std::set<std::string, std::less<>>;

// Adds the names VALUE refers to: $name, ${name...}, $(name...).
void collect_references(std::string_view value, NameSet& out) {
    for (size_t i = 0; i < value.size(); ++i) {
        if (value[i] != '$' || i + 1 >= value.size()) continue;
        size_t j = i + 1;
        if (value[j] == '$') {
            i = j;  // "$$" is a literal dollar
            continue;
        }
        size_t start = j;
        if (value[j] == '{' || value[j] == '(') {
            start = ++j;
            while (j < value.size() && std::string_view("})?:$").find(value[j]) == std::string_view::npos)
                ++j;
        } else {
            while (j < value.size() && (isalnum(static_cast<unsigned char>(value[j])) || value[j] == '_')) ++j;
        }
        if (j > start) out.emplace(value.substr(start, j - start));
        i = j - 1;
    }
}

std::string expanded(std::string_view value, const RawValueOf& raw) {
    auto v = expand_value(value, raw);
    return v ? *v : std::string(value);
}

// SETTING is "name = value" or "-o name=value".
std::string refusal_text(std::string_view where, std::string_view setting, std::string_view what) {
    return fmt::format("{}: {} requests {}, which kurir does not implement; "
                       "kurir will not run with it set (remove the setting)",
                       where, setting, what);
}

std::string unimplemented_text(std::string_view where, std::string_view name) {
    return fmt::format("{}: parameter {} is not implemented by kurir; ignored", where, name);
}

}  // namespace

util::Result<long> parse_integer(std::string_view text) {
    long v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
        return util::fail(fmt::format("bad integer value: \"{}\"", text));
    return v;
}

util::Result<long> parse_time(std::string_view text, char default_unit) {
    if (text.empty()) return util::fail("empty time value");
    char unit = default_unit;
    std::string_view digits = text;
    if (!isdigit(static_cast<unsigned char>(text.back()))) {
        unit = text.back();
        digits.remove_suffix(1);
    }
    auto n = parse_integer(digits);
    if (!n || *n < 0) return util::fail(fmt::format("bad time value: \"{}\"", text));
    long mult = 0;
    switch (unit) {
        case 's': mult = 1; break;
        case 'm': mult = 60; break;
        case 'h': mult = 3600; break;
        case 'd': mult = 86400; break;
        case 'w': mult = 7 * 86400; break;
        default: return util::fail(fmt::format("bad time unit in \"{}\"", text));
    }
    if (*n > (1L << 40) / mult) return util::fail(fmt::format("time value too large: \"{}\"", text));
    return *n * mult;
}

util::Result<bool> parse_bool(std::string_view text) {
    if (text == "yes" || text == "true") return true;
    if (text == "no" || text == "false") return false;
    return util::fail(fmt::format("bad boolean value (want yes or no): \"{}\"", text));
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    // Separators inside { } do not split, as Postfix's mystrtokq: an
    // "inline:{a=b, c=d}" or "unionmap:{x, y}" table is one entry.
    int depth = 0;
    for (char c : text) {
        if (c == '{') ++depth;
        if (c == '}' && depth > 0) --depth;
        if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

std::string local_hostname() {
    char buf[256] = "";
    ::gethostname(buf, sizeof buf - 1);
    std::string name = buf;
    if (name.find('.') == std::string::npos) {
        struct addrinfo hints {};
        hints.ai_flags = AI_CANONNAME;
        struct addrinfo* res = nullptr;
        if (::getaddrinfo(name.c_str(), nullptr, &hints, &res) == 0) {
            if (res->ai_canonname && std::strchr(res->ai_canonname, '.')) name = res->ai_canonname;
            ::freeaddrinfo(res);
        }
    }
    if (name.empty()) name = "localhost";
    return name;
}

std::string default_config_dir() {
    // secure_getenv: a set-gid or set-uid process never takes the
    // directory from its environment without asking (mail/config_trust).
    const char* env = ::secure_getenv("KURIR_CONFIG");
    return env && *env ? env : KURIR_CONFIG_DIR;
}

util::Result<Config> Config::load(const std::string& config_dir,
                                  const std::vector<std::string>& overrides) {
    auto text = util::read_file(config_dir + "/main.cf");
    if (!text) return std::unexpected(text.error());
    return from_text(*text, config_dir, overrides);
}

util::Result<Config> Config::from_text(std::string_view main_cf, const std::string& config_dir,
                                       const std::vector<std::string>& overrides) {
    Config cfg;
    cfg.config_dir_ = config_dir;
    std::string file = config_dir + "/main.cf";
    auto entries = parse_main_cf(main_cf, file);
    if (!entries) return std::unexpected(entries.error());
    cfg.set_["config_directory"] = config_dir;

    std::map<std::string, int, std::less<>> line_of;
    NameSet referenced;
    for (const auto& e : *entries) {
        cfg.set_[e.name] = e.value;
        cfg.explicit_[e.name] = e.value;
        line_of[e.name] = e.line;
        collect_references(e.value, referenced);
    }
    std::vector<std::pair<std::string, std::string>> unimplemented_overrides;
    for (const auto& o : overrides) {
        auto eq = o.find('=');
        if (eq == std::string::npos) return util::fail(fmt::format("bad -o override: \"{}\"", o));
        std::string name = o.substr(0, eq), value = o.substr(eq + 1);
        while (!name.empty() && name.back() == ' ') name.pop_back();
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        ParamStatus status = param_status(name);
        if (status == ParamStatus::unknown)
            return util::fail(fmt::format("-o {}: unknown parameter {}", o, name));
        if (status == ParamStatus::unimplemented) unimplemented_overrides.emplace_back(name, value);
        cfg.set_[name] = value;
        cfg.explicit_[name] = value;
        collect_references(value, referenced);
    }
    // The host's own name is looked up only when main.cf does not give it
    // (a resolver lookup costs each short-lived sendmail and kurir-drop);
    // mydomain defaults to the domain part of myhostname, as in Postfix.
    if (!cfg.explicit_.contains("myhostname")) cfg.set_["myhostname"] = local_hostname();
    if (!cfg.explicit_.contains("mydomain")) {
        const std::string& host = cfg.set_["myhostname"];
        std::string named = host.find('$') == std::string::npos ? host : local_hostname();
        auto dot = named.find('.');
        cfg.set_["mydomain"] = dot == std::string::npos ? "localdomain" : named.substr(dot + 1);
    }
    // Check every typed value once, so that accessors cannot fail later.
    const RawValueOf raw = cfg.raw_lookup();
    for (const auto& p : param_table()) {
        auto v = expand_value(*cfg.raw_value(p.name), raw);
        auto where = [&] {
            auto it = line_of.find(p.name);
            return it == line_of.end() ? file : fmt::format("{}:{}", file, it->second);
        };
        if (!v) return util::fail(fmt::format("{}: {}: {}", where(), p.name, v.error().text));
        util::Result<long> n = 0;
        if (p.kind == ParamKind::integer) n = parse_integer(*v);
        if (p.kind == ParamKind::time) n = parse_time(*v, p.time_unit);
        if (p.kind == ParamKind::boolean) {
            if (auto b = parse_bool(*v); !b) n = std::unexpected(b.error());
        }
        if (!n) return util::fail(fmt::format("{}: {}: {}", where(), p.name, n.error().text));
        if (*n < p.min)
            return util::fail(fmt::format("{}: {}: value {} is below the minimum {}", where(), p.name,
                                          *n, p.min));
    }
    // A service's own limits (relay_destination_recipient_limit, ...) are
    // typed as their defaults are.
    for (const auto& [name, value] : cfg.explicit_) {
        const ParamSpec* p = find_param(name) ? nullptr : per_service_param(name);
        if (!p) continue;
        auto v = expand_value(value, raw);
        auto it = line_of.find(name);
        std::string where = it == line_of.end() ? file : fmt::format("{}:{}", file, it->second);
        if (!v) return util::fail(fmt::format("{}: {}: {}", where, name, v.error().text));
        auto n = p->kind == ParamKind::time ? parse_time(*v, p->time_unit) : parse_integer(*v);
        if (!n) return util::fail(fmt::format("{}: {}: {}", where, name, n.error().text));
    }
    // smtpd_restriction_classes names parameters of the administrator's own.
    for (const auto& name : cfg.list("smtpd_restriction_classes")) referenced.insert(name);
    // What kurir does not implement: reported, never silently ignored.
    for (const auto& e : *entries) {
        std::string where = fmt::format("{}:{}", file, e.line);
        switch (param_status(e.name)) {
            case ParamStatus::implemented: break;
            case ParamStatus::unimplemented:
                if (auto what = missing_security(e.name, expanded(e.value, raw)); !what.empty())
                    cfg.refusals_.push_back(refusal_text(where, e.name + " = " + e.value, what));
                else
                    cfg.ignored_.push_back({e.name, unimplemented_text(where, e.name), false});
                break;
            case ParamStatus::unknown:
                if (!referenced.contains(e.name))
                    cfg.ignored_.push_back(
                        {e.name,
                         fmt::format("{}: unknown parameter {}: kurir does not know it and no ${} refers to it; ignored",
                                     where, e.name, e.name),
                         true});
                break;
        }
    }
    for (const auto& [name, value] : unimplemented_overrides) {
        std::string where = fmt::format("-o {}={}", name, value);
        if (auto what = missing_security(name, expanded(value, raw)); !what.empty())
            return util::fail(refusal_text("master.cf", where, what));
        cfg.ignored_.push_back({name, unimplemented_text(where, name), false});
    }
    return cfg;
}

std::vector<std::string> Config::warnings() const {
    std::vector<std::string> out;
    for (const auto& i : ignored_) out.push_back(i.text);
    return out;
}

void Config::forgive_referenced(const std::vector<std::string>& values) {
    NameSet referenced;
    for (const auto& v : values) collect_references(v, referenced);
    std::erase_if(ignored_, [&](const Ignored& i) { return i.unknown && referenced.contains(i.name); });
}

util::Result<std::vector<std::string>> check_service_options(Config& cfg, const std::vector<ServiceEntry>& services,
                                                             const std::string& file) {
    std::vector<std::string> warnings, values;
    for (const auto& s : services) {
        std::string where = fmt::format("{}:{}: service {}", file, s.line, s.name);
        std::map<std::string, std::string, std::less<>> service_values;  // this service's -o settings
        for (size_t i = 0; i < s.args.size(); ++i) {
            if (s.args[i] != "-o") continue;
            if (i + 1 >= s.args.size()) return util::fail(fmt::format("{}: -o needs name=value", where));
            const std::string& o = s.args[++i];
            auto eq = o.find('=');
            if (eq == std::string::npos || eq == 0)
                return util::fail(fmt::format("{}: -o {}: want name=value", where, o));
            std::string name = o.substr(0, eq), value = o.substr(eq + 1);
            values.push_back(value);
            service_values[name] = value;
            switch (param_status(name)) {
                case ParamStatus::implemented: break;
                case ParamStatus::unknown:
                    return util::fail(fmt::format("{}: -o {}: unknown parameter {}", where, o, name));
                case ParamStatus::unimplemented:
                    if (auto what = missing_security(name, expanded(value, cfg.raw_lookup())); !what.empty())
                        return util::fail(refusal_text(where, "-o " + o, what));
                    warnings.push_back(unimplemented_text(where + ": -o " + o, name));
                    break;
            }
        }
        // smtpd would stop at its first client on restriction lists it
        // cannot apply: refuse them here, at start, reload and check.
        if (s.command != "smtpd") continue;
        auto lists = parse_restriction_policy([&](std::string_view name) {
            auto it = service_values.find(name);
            return it == service_values.end() ? cfg.str(name) : expanded(it->second, cfg.raw_lookup());
        });
        if (!lists) return util::fail(fmt::format("{}: {}", where, lists.error().text));
    }
    cfg.forgive_referenced(values);
    return warnings;
}

std::optional<std::string_view> Config::raw_value(std::string_view name) const {
    if (auto it = set_.find(name); it != set_.end()) return it->second;
    if (const ParamSpec* p = find_param(name)) return p->default_value;
    return std::nullopt;
}

RawValueOf Config::raw_lookup() const {
    return [this](std::string_view name) { return raw_value(name); };
}

RawLookup Config::raw() const {
    RawLookup all;
    for (const auto& p : param_table()) all.emplace(p.name, p.default_value);
    for (const auto& [name, value] : set_) all.insert_or_assign(name, value);
    return all;
}

std::string Config::str(std::string_view name) const {
    auto raw = raw_value(name);
    if (!raw) return {};
    auto v = expand_value(*raw, raw_lookup());
    return v ? *v : std::string();
}

long Config::integer(std::string_view name) const {
    auto v = parse_integer(str(name));
    return v ? *v : 0;
}

long Config::seconds(std::string_view name) const {
    const ParamSpec* p = find_param(name);
    auto v = parse_time(str(name), p ? p->time_unit : 's');
    return v ? *v : 0;
}

bool Config::boolean(std::string_view name) const {
    auto v = parse_bool(str(name));
    return v && *v;
}

std::vector<std::string> Config::list(std::string_view name) const { return split_list(str(name)); }

}  // namespace kurir::mail
