#include "tools/table_tool.hpp"

#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "tools/table_edit.hpp"
#include "util/fs.hpp"
#include "util/indexed_map.hpp"

#include <fmt/format.h>
#include <sysexits.h>

#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace kurir::tools {
namespace {

enum class Mode { build, query, dump, remove, incremental };

// A table named without "type:" is of default_database_type (hash when the
// configuration cannot be read: the parameter's default).
std::string default_type(const std::string& dir) {
    auto cfg = mail::Config::load(dir);
    return cfg ? cfg->str("default_database_type") : std::string("hash");
}

int build(const char* prog, const std::string& t, TableSyntax syntax) {
    auto spec = mail::parse_map_spec(t);
    if (!spec) {
        fmt::print(stderr, "{}: fatal: {}\n", prog, spec.error().text);
        return EX_USAGE;
    }
    if (spec->pattern) {
        // Read by the daemons as they are: building is checking.
        auto table = mail::RegexpTable::load(spec->path, *spec->pattern);
        if (!table) {
            fmt::print(stderr, "{}: fatal: {}\n", prog, table.error().text);
            return EX_DATAERR;
        }
        return 0;
    }
    if (!spec->indexed()) {
        // texthash:, cidr: and static: are read as they are: opening is checking.
        auto maps = mail::MapList::open({t});
        if (maps && !maps->warnings().empty()) {
            fmt::print(stderr, "{}: fatal: {}\n", prog, maps->warnings().front());
            return EX_DATAERR;
        }
        return 0;
    }
    auto text = util::read_file(spec->path);
    if (!text) {
        fmt::print(stderr, "{}: fatal: {}\n", prog, text.error().text);
        return EX_NOINPUT;
    }
    auto entries = syntax == TableSyntax::map ? mail::parse_map_source(*text, spec->path)
                                              : mail::parse_aliases_source(*text, spec->path);
    if (!entries) {
        fmt::print(stderr, "{}: fatal: {}\n", prog, entries.error().text);
        return EX_DATAERR;
    }
    if (auto r = util::build_indexed(spec->path, spec->type, *entries); !r) {
        fmt::print(stderr, "{}: fatal: {}\n", prog, r.error().text);
        return EX_CANTCREAT;
    }
    chown_table_like_source(*spec);
    return 0;
}

int query(const char* prog, const std::vector<std::string>& tables, const std::string& key) {
    auto maps = mail::MapList::open(tables);
    if (!maps) {
        fmt::print(stderr, "{}: fatal: {}\n", prog, maps.error().text);
        return EX_CONFIG;
    }
    for (const auto& w : maps->warnings()) fmt::print(stderr, "{}: warning: {}\n", prog, w);
    // "-q -" reads keys from stdin and prints "key<TAB>value" for each
    // found, as postmap does; the exit status is 0 when one was.
    std::vector<std::string> keys;
    if (key == "-") {
        for (std::string line; std::getline(std::cin, line);)
            if (!line.empty()) keys.push_back(line);
    } else {
        keys.push_back(key);
    }
    bool found = false;
    for (const auto& k : keys) {
        auto v = maps->lookup(k);
        if (!v) {
            fmt::print(stderr, "{}: fatal: {}\n", prog, v.error().text);
            return EX_SOFTWARE;
        }
        if (!*v) continue;
        found = true;
        if (key == "-")
            fmt::print("{}\t{}\n", k, **v);
        else
            fmt::print("{}\n", **v);
    }
    return found ? 0 : 1;
}

}  // namespace

int table_tool_main(int argc, char** argv, TableSyntax syntax) {
    const char* prog = syntax == TableSyntax::map ? "kurir-map" : "kurir-alias";
    std::string dir = mail::default_config_dir();
    std::string key;
    Mode mode = Mode::build;
    std::vector<std::string> tables;
    auto usage = [&] {
        fmt::print(stderr, "usage: {} [-c config_dir] [-i] [-q key | -d key | -s] {}\n", prog,
                   syntax == TableSyntax::map ? "type:file ..." : "[type:file ...]");
        return EX_USAGE;
    };
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        Mode m = a == "-q" ? Mode::query : a == "-d" ? Mode::remove : a == "-s" ? Mode::dump
                 : a == "-i"                                                  ? Mode::incremental
                                                                              : Mode::build;
        if (a == "-c" && i + 1 < argc) {
            dir = argv[++i];
        } else if (m != Mode::build) {
            if (mode != Mode::build) return usage();  // one of -q -d -s -i
            if ((m == Mode::query || m == Mode::remove) && ++i >= argc) return usage();
            if (m == Mode::query || m == Mode::remove) key = argv[i];
            mode = m;
        } else if (!a.empty() && a[0] != '-') {
            tables.push_back(a);
        } else {
            return usage();
        }
    }
    if (tables.empty()) {
        if (syntax == TableSyntax::map) {
            fmt::print(stderr, "{}: fatal: no table named\n", prog);
            return EX_USAGE;
        }
        auto cfg = mail::Config::load(dir);
        if (!cfg) {
            fmt::print(stderr, "{}: fatal: {}\n", prog, cfg.error().text);
            return EX_CONFIG;
        }
        tables = cfg->list("alias_database");
    }
    std::string type;
    for (auto& t : tables) {
        if (t.find(':') != std::string::npos) continue;
        if (type.empty()) type = default_type(dir);
        t = type + ":" + t;
    }

    switch (mode) {
        case Mode::query: return query(prog, tables, key);
        case Mode::dump: return dump_tables(prog, tables, syntax);
        case Mode::remove: return remove_key(prog, tables, key);
        case Mode::incremental: {
            std::string input(std::istreambuf_iterator<char>(std::cin), {});
            return add_entries(prog, tables, syntax, input);
        }
        case Mode::build: break;
    }
    for (const auto& t : tables)
        if (int rc = build(prog, t, syntax); rc != 0) return rc;
    return 0;
}

}  // namespace kurir::tools
