#include "tools/table_edit.hpp"

#include "util/indexed_map.hpp"
#include "util/text.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace kurir::tools {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

// The spec of an indexed table, or the exit status after saying why not.
int indexed_spec(const char* prog, const std::string& t, const char* what, bool changes, mail::MapSpec& out) {
    auto spec = mail::parse_map_spec(t);
    if (!spec) {
        fmt::print(stderr, "{}: fatal: {}\n", prog, spec.error().text);
        return EX_USAGE;
    }
    if (!spec->indexed() || (changes && spec->type == util::DbType::cdb)) {
        std::string type = t.substr(0, t.find(':'));
        fmt::print(stderr, "{}: fatal: table {}: {} is not supported for {} tables\n", prog, t, what, type);
        return EX_USAGE;
    }
    out = *spec;
    return 0;
}

int rebuild(const char* prog, const mail::MapSpec& spec, const Entries& entries) {
    if (auto r = util::build_indexed(spec.path, spec.type, entries); !r) {
        fmt::print(stderr, "{}: fatal: {}\n", prog, r.error().text);
        return EX_CANTCREAT;
    }
    chown_table_like_source(spec);
    return 0;
}

}  // namespace

void chown_table_like_source(const mail::MapSpec& spec) {
    struct stat st {};
    std::string file = util::indexed_file(spec.path, spec.type);
    if (::getuid() == 0 && ::stat(spec.path.c_str(), &st) == 0) (void)::chown(file.c_str(), st.st_uid, st.st_gid);
}

int dump_tables(const char* prog, const std::vector<std::string>& tables, TableSyntax syntax) {
    for (const auto& t : tables) {
        mail::MapSpec spec;
        if (int rc = indexed_spec(prog, t, "-s", false, spec); rc != 0) return rc;
        auto map = util::IndexedMap::open(spec.path, spec.type);
        if (!map) {
            fmt::print(stderr, "{}: fatal: {}\n", prog, map.error().text);
            return EX_NOINPUT;
        }
        auto entries = map->entries();
        if (!entries) {
            fmt::print(stderr, "{}: fatal: {}\n", prog, entries.error().text);
            return EX_IOERR;
        }
        for (const auto& [k, v] : *entries) {
            if (syntax == TableSyntax::map)
                fmt::print("{}\t{}\n", k, v);
            else
                fmt::print("{}: {}\n", k, v);
        }
    }
    return 0;
}

int remove_key(const char* prog, const std::vector<std::string>& tables, const std::string& key) {
    bool found = false;
    std::string want = util::lowercase(key);
    for (const auto& t : tables) {
        mail::MapSpec spec;
        if (int rc = indexed_spec(prog, t, "delete", true, spec); rc != 0) return rc;
        auto map = util::IndexedMap::open(spec.path, spec.type);
        if (!map) {
            fmt::print(stderr, "{}: fatal: {}\n", prog, map.error().text);
            return EX_NOINPUT;
        }
        auto entries = map->entries();
        if (!entries) {
            fmt::print(stderr, "{}: fatal: {}\n", prog, entries.error().text);
            return EX_IOERR;
        }
        auto gone = std::remove_if(entries->begin(), entries->end(), [&](const auto& e) { return e.first == want; });
        if (gone == entries->end()) continue;
        entries->erase(gone, entries->end());
        found = true;
        if (int rc = rebuild(prog, spec, *entries); rc != 0) return rc;
    }
    return found ? 0 : 1;
}

int add_entries(const char* prog, const std::vector<std::string>& tables, TableSyntax syntax, std::string_view input) {
    auto added = syntax == TableSyntax::map ? mail::parse_map_source(input, "stdin")
                                            : mail::parse_aliases_source(input, "stdin");
    if (!added) {
        fmt::print(stderr, "{}: fatal: {}\n", prog, added.error().text);
        return EX_DATAERR;
    }
    for (const auto& t : tables) {
        mail::MapSpec spec;
        if (int rc = indexed_spec(prog, t, "incremental update", true, spec); rc != 0) return rc;
        Entries entries;
        std::string file = util::indexed_file(spec.path, spec.type);
        if (::access(file.c_str(), F_OK) == 0) {
            auto map = util::IndexedMap::open(spec.path, spec.type);
            auto old = map ? map->entries() : std::unexpected(map.error());
            if (!old) {
                fmt::print(stderr, "{}: fatal: {}\n", prog, old.error().text);
                return EX_NOINPUT;
            }
            entries = std::move(*old);
        }
        entries.insert(entries.end(), added->begin(), added->end());
        if (int rc = rebuild(prog, spec, entries); rc != 0) return rc;
    }
    return 0;
}

}  // namespace kurir::tools
