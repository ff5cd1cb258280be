#include "tools/table_tool.hpp"

#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "util/db_map.hpp"
#include "util/fs.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace kurir::tools {

int table_tool_main(int argc, char** argv, TableSyntax syntax) {
    const char* prog = syntax == TableSyntax::map ? "kurir-map" : "kurir-alias";
    std::string dir = mail::default_config_dir();
    std::string query;
    bool querying = false;
    std::vector<std::string> tables;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc) {
            dir = argv[++i];
        } else if (a == "-q" && i + 1 < argc) {
            query = argv[++i];
            querying = true;
        } else if (!a.empty() && a[0] != '-') {
            tables.push_back(a);
        } else {
            fmt::print(stderr, "usage: {} [-c config_dir] [-q key] {}\n", prog,
                       syntax == TableSyntax::map ? "type:file ..." : "[type:file ...]");
            return EX_USAGE;
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
    for (auto& t : tables)
        if (t.find(':') == std::string::npos) t = "hash:" + t;

    if (querying) {
        auto maps = mail::MapList::open(tables);
        if (!maps) {
            fmt::print(stderr, "{}: fatal: {}\n", prog, maps.error().text);
            return EX_CONFIG;
        }
        for (const auto& w : maps->warnings()) fmt::print(stderr, "{}: warning: {}\n", prog, w);
        auto v = maps->lookup(query);
        if (!v) {
            fmt::print(stderr, "{}: fatal: {}\n", prog, v.error().text);
            return EX_SOFTWARE;
        }
        if (!*v) return 1;
        fmt::print("{}\n", **v);
        return 0;
    }
    for (const auto& t : tables) {
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
            continue;
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
        std::string db = spec->path + ".db";
        if (auto r = util::build_db(db, spec->type, *entries); !r) {
            fmt::print(stderr, "{}: fatal: {}\n", prog, r.error().text);
            return EX_CANTCREAT;
        }
        // The table belongs to whoever owns its source (local runs alias
        // commands with the table owner's rights, as Postfix does).
        struct stat st {};
        if (::getuid() == 0 && ::stat(spec->path.c_str(), &st) == 0) (void)::chown(db.c_str(), st.st_uid, st.st_gid);
    }
    return 0;
}

}  // namespace kurir::tools
