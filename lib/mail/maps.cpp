#include "mail/maps.hpp"

#include "mail/config.hpp"
#include "mail/inline_table.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

namespace kurir::mail {
namespace {

std::string trim(std::string_view s) { return std::string(util::trim(s)); }

}  // namespace

util::Result<MapEntries> parse_map_source(std::string_view text, const std::string& file) {
    if (text.find('\0') != std::string_view::npos) return util::fail(file + ": contains a NUL byte");
    MapEntries out;
    for (const auto& l : util::logical_lines(text)) {
        size_t sp = l.text.find_first_of(" \t");
        if (sp == std::string::npos)
            return util::fail(fmt::format("{}:{}: expected \"key whitespace value\"", file, l.line));
        out.emplace_back(l.text.substr(0, sp), trim(std::string_view(l.text).substr(sp)));
    }
    return out;
}

util::Result<MapEntries> parse_aliases_source(std::string_view text, const std::string& file) {
    if (text.find('\0') != std::string_view::npos) return util::fail(file + ": contains a NUL byte");
    MapEntries out;
    for (const auto& l : util::logical_lines(text)) {
        std::string name;
        size_t i = 0;
        bool quoted = l.text[0] == '"';
        if (quoted) {
            size_t close = l.text.find('"', 1);
            if (close == std::string::npos) return util::fail(fmt::format("{}:{}: unbalanced quote", file, l.line));
            name = l.text.substr(1, close - 1);
            i = close + 1;
        } else {
            i = l.text.find(':');
            if (i == std::string::npos)
                return util::fail(fmt::format("{}:{}: missing ':' after alias name", file, l.line));
            name = trim(std::string_view(l.text).substr(0, i));
        }
        i = l.text.find(':', i);
        if (i == std::string::npos) return util::fail(fmt::format("{}:{}: missing ':' after alias name", file, l.line));
        if (name.empty() || (!quoted && name.find_first_of(" \t") != std::string::npos))
            return util::fail(fmt::format("{}:{}: bad alias name \"{}\"", file, l.line, name));
        std::string value = trim(std::string_view(l.text).substr(i + 1));
        if (value.empty()) return util::fail(fmt::format("{}:{}: alias \"{}\" has no value", file, l.line, name));
        out.emplace_back(name, value);
    }
    return out;
}

std::vector<std::string> split_alias_value(std::string_view value) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    auto push = [&] {
        std::string t = trim(cur);
        if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
        if (!t.empty()) out.push_back(t);
        cur.clear();
    };
    for (char c : value) {
        if (c == '"') quoted = !quoted;
        if (c == ',' && !quoted)
            push();
        else
            cur += c;
    }
    push();
    return out;
}

util::Result<MapSpec> parse_map_spec(std::string_view spec) {
    size_t colon = spec.find(':');
    if (colon == std::string_view::npos) return util::fail("bad table \"" + std::string(spec) + "\" (want type:name)");
    std::string_view type = spec.substr(0, colon);
    std::string path(spec.substr(colon + 1));
    if (type == "static") return MapSpec{util::DbType::hash, path, std::nullopt, MapSpec::Memory::static_value};
    if (type == "inline") {
        if (auto e = parse_inline_table(path); !e) return std::unexpected(e.error());
        return MapSpec{util::DbType::hash, path, std::nullopt, MapSpec::Memory::inline_table};
    }
    if (type == "unionmap" || type == "pipemap") {
        auto members = split_braced_list(path, std::string(spec));
        if (!members) return std::unexpected(members.error());
        for (const auto& m : *members)
            if (auto ms = parse_map_spec(m); !ms) return std::unexpected(ms.error());
        MapSpec out{util::DbType::hash, path, std::nullopt};
        out.composed = type == "unionmap" ? ComposedTable::Kind::union_map : ComposedTable::Kind::pipe_map;
        out.members = std::move(*members);
        return out;
    }
    if (path.empty() || path[0] != '/') return util::fail("table " + std::string(spec) + ": want an absolute path");
    if (type == "texthash") return MapSpec{util::DbType::hash, path, std::nullopt, MapSpec::Memory::texthash};
    if (type == "cidr") return MapSpec{util::DbType::hash, path, std::nullopt, MapSpec::Memory::cidr};
    if (type == "hash") return MapSpec{util::DbType::hash, path, std::nullopt};
    if (type == "btree") return MapSpec{util::DbType::btree, path, std::nullopt};
    if (type == "lmdb") return MapSpec{util::DbType::lmdb, path, std::nullopt};
    if (type == "cdb") return MapSpec{util::DbType::cdb, path, std::nullopt};
    if (type == "regexp") return MapSpec{util::DbType::hash, path, PatternKind::regexp};
    if (type == "pcre") return MapSpec{util::DbType::hash, path, PatternKind::pcre};
    if (type == "pgsql") {
        MapSpec out{util::DbType::hash, path, std::nullopt};
        out.pgsql = true;
        return out;
    }
    return util::fail("unsupported table type \"" + std::string(type) +
                      "\" (hash, btree, lmdb, cdb, regexp, pcre, texthash, cidr, static, inline, unionmap, pipemap and pgsql are)");
}

bool map_matches_whole_key_only(std::string_view spec) {
    auto s = parse_map_spec(spec);
    return s && (s->pattern || s->memory == MapSpec::Memory::cidr);
}

util::Result<MapList> MapList::open(const std::vector<std::string>& specs) {
    MapList list;
    for (const auto& s : specs) {
        auto spec = parse_map_spec(s);
        if (!spec) return std::unexpected(spec.error());
        if (spec->pattern) {
            auto table = RegexpTable::load(spec->path, *spec->pattern);
            if (!table) {
                list.warnings_.push_back(table.error().text);
                continue;
            }
            list.maps_.emplace_back(std::make_shared<RegexpTable>(std::move(*table)));
            continue;
        }
        if (spec->pgsql) {  // a .cf with an error is skipped with a warning, as a regexp: table
            auto table = PgsqlTable::open(spec->path);
            if (!table) list.warnings_.push_back(table.error().text);
            else list.maps_.emplace_back(std::move(*table));
            continue;
        }
        if (spec->memory == MapSpec::Memory::inline_table) {
            list.maps_.emplace_back(std::make_shared<TextTable>(TextTable::from_entries(*parse_inline_table(spec->path))));
            continue;
        }
        if (spec->composed) {
            auto table = ComposedTable::open(*spec->composed, spec->members, s);
            if (!table) list.warnings_.push_back(table.error().text);
            else list.maps_.emplace_back(std::make_shared<ComposedTable>(std::move(*table)));
            continue;
        }
        if (spec->memory == MapSpec::Memory::static_value) {
            list.maps_.emplace_back(std::make_shared<TextTable>(TextTable::static_value(spec->path)));
            continue;
        }
        if (spec->memory == MapSpec::Memory::texthash || spec->memory == MapSpec::Memory::cidr) {
            // A source with an error is skipped with the error as a warning,
            // as a regexp: table's.
            if (spec->memory == MapSpec::Memory::texthash) {
                auto table = TextTable::load_texthash(spec->path);
                if (!table) list.warnings_.push_back(table.error().text);
                else list.maps_.emplace_back(std::make_shared<TextTable>(std::move(*table)));
            } else {
                auto table = CidrTable::load(spec->path);
                if (!table) list.warnings_.push_back(table.error().text);
                else list.maps_.emplace_back(std::make_shared<CidrTable>(std::move(*table)));
            }
            continue;
        }
        auto db = util::IndexedMap::open(spec->path, spec->type);
        if (!db) {
            list.warnings_.push_back(db.error().text);
            continue;
        }
        list.maps_.push_back(std::make_shared<util::IndexedMap>(std::move(*db)));
    }
    return list;
}

MapList MapList::unusable(std::string why) {
    MapList list;
    list.warnings_.push_back(std::move(why));
    return list;
}

util::Result<std::optional<std::string>> MapList::lookup(std::string_view key) const {
    for (const auto& m : maps_) {
        auto v = std::visit([&](const auto& table) { return table->lookup(key); }, m);
        if (!v || *v) return v;
    }
    return std::optional<std::string>();
}

util::Result<std::optional<std::string>> MapList::lookup_partial(std::string_view key) const {
    for (const auto& m : maps_) {
        util::Result<std::optional<std::string>> v = std::optional<std::string>();
        if (const auto* db = std::get_if<std::shared_ptr<util::IndexedMap>>(&m))
            v = (*db)->lookup(key);
        else if (const auto* text = std::get_if<std::shared_ptr<TextTable>>(&m))
            v = (*text)->lookup(key);
        else if (const auto* sql = std::get_if<std::shared_ptr<PgsqlTable>>(&m))
            v = (*sql)->lookup(key);
        else if (const auto* composed = std::get_if<std::shared_ptr<ComposedTable>>(&m))
            v = (*composed)->lookup_partial(key);
        else
            continue;  // pattern tables (regexp:, pcre:, cidr:) see whole keys only
        if (!v || *v) return v;
    }
    return std::optional<std::string>();
}

const MapList& WatchedMaps::get(const Config& cfg) {
    const std::vector<std::string> specs = specs_ ? *specs_ : cfg.list(parameter_);
    std::string stamp;
    // The files of the tables, and of the tables in a unionmap: or pipemap:.
    auto add_stamp = [&stamp](const std::string& spec, auto& self) -> void {
        struct stat st {};
        auto p = parse_map_spec(spec);
        if (p && !p->table_file().empty() && ::stat(p->table_file().c_str(), &st) == 0)
            stamp += std::to_string(st.st_ino) + ":" + std::to_string(st.st_mtim.tv_nsec) + ":" +
                     std::to_string(st.st_mtime) + ":" + std::to_string(st.st_size) + ";";
        if (p)
            for (const auto& m : p->members) self(m, self);
    };
    for (const auto& spec : specs) add_stamp(spec, add_stamp);
    if (!maps_ || stamp != stamp_) {
        auto m = MapList::open(specs);
        if (!m) util::msg_warn("{}: {}", parameter_, m.error().text);
        maps_ = m ? std::move(*m) : MapList::unusable(m.error().text);
        stamp_ = stamp;
    }
    return *maps_;
}

}  // namespace kurir::mail
