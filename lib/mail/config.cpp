#include "mail/config.hpp"

#include "build_paths.hpp"
#include "util/fs.hpp"

#include <cctype>
#include <fmt/format.h>
#include <netdb.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace kurir::mail {

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
    for (char c : text) {
        if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
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
    for (const auto& p : param_table()) cfg.raw_[std::string(p.name)] = std::string(p.default_value);
    cfg.raw_["config_directory"] = config_dir;

    std::map<std::string, int, std::less<>> line_of;
    for (const auto& e : *entries) {
        if (!find_param(e.name))
            cfg.warnings_.push_back(
                fmt::format("{}:{}: unknown parameter \"{}\"", file, e.line, e.name));
        cfg.raw_[e.name] = e.value;
        cfg.explicit_[e.name] = e.value;
        line_of[e.name] = e.line;
    }
    for (const auto& o : overrides) {
        auto eq = o.find('=');
        if (eq == std::string::npos) return util::fail(fmt::format("bad -o override: \"{}\"", o));
        std::string name = o.substr(0, eq), value = o.substr(eq + 1);
        while (!name.empty() && name.back() == ' ') name.pop_back();
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        cfg.raw_[name] = value;
        cfg.explicit_[name] = value;
    }
    // The host's own name is looked up only when main.cf does not give it
    // (a resolver lookup costs each short-lived sendmail and kurir-drop);
    // mydomain defaults to the domain part of myhostname, as in Postfix.
    if (!cfg.explicit_.contains("myhostname")) cfg.raw_["myhostname"] = local_hostname();
    if (!cfg.explicit_.contains("mydomain")) {
        const std::string& host = cfg.raw_["myhostname"];
        std::string named = host.find('$') == std::string::npos ? host : local_hostname();
        auto dot = named.find('.');
        cfg.raw_["mydomain"] = dot == std::string::npos ? "localdomain" : named.substr(dot + 1);
    }
    // Check every typed value once, so that accessors cannot fail later.
    for (const auto& p : param_table()) {
        auto v = expand_value(cfg.raw_[std::string(p.name)], cfg.raw_);
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
    return cfg;
}

std::string Config::str(std::string_view name) const {
    auto it = raw_.find(name);
    if (it == raw_.end()) return {};
    auto v = expand_value(it->second, raw_);
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
