#include "mail/pgsql_cf.hpp"

#include "mail/address.hpp"
#include "mail/main_cf.hpp"
#include "mail/pgsql_query.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>

namespace kurir::mail {
namespace {

std::vector<std::string_view> split_list(std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        size_t start = s.find_first_not_of(" \t\r\n,", i);
        if (start == std::string_view::npos) break;
        size_t end = s.find_first_of(" \t\r\n,", start);
        if (end == std::string_view::npos) end = s.size();
        out.push_back(s.substr(start, end - start));
        i = end;
    }
    return out;
}

bool valid_port(std::string_view port) {
    unsigned n = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    return ec == std::errc() && p == port.data() + port.size() && n >= 1 && n <= 65535 && port[0] != '+';
}

util::Result<unsigned> parse_count(std::string_view name, std::string_view value) {
    unsigned n = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || p != value.data() + value.size() || n > 1000000)
        return util::fail(fmt::format("{}: bad number \"{}\"", name, value));
    return n;
}

constexpr std::string_view kLegacy[] = {"select_function", "table", "select_field", "where_field",
                                        "additional_conditions"};

}  // namespace

util::Result<PgsqlHost> parse_pgsql_host(std::string_view text) {
    auto bad = [&](std::string_view why) {
        return util::fail(fmt::format("hosts: bad host \"{}\" ({})", text, why));
    };
    if (text.starts_with("postgresql://") || text.starts_with("postgres://"))
        return PgsqlHost{PgsqlHost::Kind::uri, std::string(text), ""};
    if (text.starts_with("unix:")) {
        std::string_view dir = text.substr(5);
        if (dir.empty() || dir[0] != '/') return bad("want unix:/socket/directory");
        return PgsqlHost{PgsqlHost::Kind::unix_socket, std::string(dir), ""};
    }
    std::string_view rest = text.starts_with("inet:") ? text.substr(5) : text;
    std::string_view host = rest, port;
    if (rest.starts_with("[")) {
        size_t close = rest.find(']');
        if (close == std::string_view::npos) return bad("unbalanced [");
        host = rest.substr(1, close - 1);
        std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return bad("want [address]:port");
            port = after.substr(1);
        }
    } else if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    if (host.empty()) return bad("no host name");
    for (char c : host)
        if (static_cast<unsigned char>(c) <= ' ' || std::string_view("/'\"\\=[],").find(c) != std::string_view::npos)
            return bad("bad character in the host name");
    if (!port.empty() || rest.ends_with(":")) {
        if (!valid_port(port)) return bad("want a port number 1-65535");
    }
    return PgsqlHost{PgsqlHost::Kind::inet, std::string(host), std::string(port)};
}

util::Result<PgsqlCf> parse_pgsql_cf(std::string_view text, const std::string& file) {
    auto entries = parse_main_cf(text, file);
    if (!entries) return std::unexpected(entries.error());
    std::map<std::string, std::string, std::less<>> values;
    for (auto& e : *entries) values[e.name] = e.value;
    auto fail = [&](const std::string& why) { return util::fail(file + ": " + why); };

    PgsqlCf cf;
    for (const auto& [name, value] : values) {
        if (value.find('\0') != std::string::npos) return fail(name + ": contains a NUL byte");
        if (name == "hosts") {
            for (auto h : split_list(value)) {
                auto host = parse_pgsql_host(h);
                if (!host) return fail(host.error().text);
                cf.hosts.push_back(std::move(*host));
            }
        } else if (name == "user") {
            cf.user = value;
        } else if (name == "password") {
            cf.password = value;
        } else if (name == "dbname") {
            cf.dbname = value;
        } else if (name == "query") {
            cf.query = value;
        } else if (name == "result_format") {
            cf.result_format = value;
        } else if (name == "domain") {
            for (auto d : split_list(value)) {
                if (d.find(':') != std::string_view::npos)
                    return fail(fmt::format("domain: \"{}\": tables in domain are not supported", d));
                cf.domains.push_back(lowercase(d));
            }
        } else if (name == "expansion_limit") {
            auto n = parse_count(name, value);
            if (!n) return fail(n.error().text);
            cf.expansion_limit = *n;
        } else if (name == "encoding") {
            cf.encoding = value;
        } else if (name == "connect_timeout") {
            auto n = parse_count(name, value);
            if (!n) return fail(n.error().text);
            cf.connect_timeout = *n;
        } else if (std::find(std::begin(kLegacy), std::end(kLegacy), name) != std::end(kLegacy)) {
            return fail(name + ": the legacy table/select_field/where_field form is not supported; use query");
        } else {
            return fail(name + ": unknown pgsql_table parameter");
        }
    }
    if (cf.query.empty()) return fail("query: missing (the SQL to run, with %s for the key)");
    if (auto ok = check_pgsql_template(cf.query); !ok) return fail("query: " + ok.error().text);
    if (auto ok = check_pgsql_template(cf.result_format); !ok) return fail("result_format: " + ok.error().text);
    bool all_uris = !cf.hosts.empty() && std::all_of(cf.hosts.begin(), cf.hosts.end(), [](const PgsqlHost& h) {
        return h.kind == PgsqlHost::Kind::uri;
    });
    if (cf.dbname.empty() && !all_uris) return fail("dbname: missing");
    if (cf.hosts.empty()) cf.hosts.push_back(PgsqlHost{PgsqlHost::Kind::inet, "localhost", ""});
    return cf;
}

}  // namespace kurir::mail
