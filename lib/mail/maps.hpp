// Lookup tables: the source formats (postmap's "key value" lines and
// aliases(5)) as pure parsers, and "type:name" tables opened for lookups.
#pragma once

#include "mail/composed_table.hpp"
#include "mail/memory_tables.hpp"
#include "mail/pgsql_table.hpp"
#include "mail/regexp_table.hpp"
#include "util/indexed_map.hpp"
#include "util/result.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kurir::mail {

using MapEntries = std::vector<std::pair<std::string, std::string>>;

// "key value" per logical line; whitespace-led lines continue the previous
// one; "#" comments. Errors name file:line.
util::Result<MapEntries> parse_map_source(std::string_view text, const std::string& file);
// "name: value, value" per logical line; the name may be quoted.
util::Result<MapEntries> parse_aliases_source(std::string_view text, const std::string& file);
// Splits an alias value into its items at commas outside double quotes;
// quotes around an item are removed ("|cmd arg" -> |cmd arg).
std::vector<std::string> split_alias_value(std::string_view value);

struct MapSpec {
    util::DbType type;  // hash:, btree:, lmdb: and cdb:
    std::string path;   // the source file; an indexed table is util::indexed_file(path, type)
    // regexp: and pcre: tables are read from path itself (type unused).
    std::optional<PatternKind> pattern;
    // texthash: and cidr: are read from path itself; static: has its value
    // in path.
    // inline: has its "{...}" in path.
    enum class Memory { none, texthash, static_value, cidr, inline_table } memory = Memory::none;
    // unionmap: and pipemap: have their tables in members (path: "{...}").
    std::optional<ComposedTable::Kind> composed = std::nullopt;
    std::vector<std::string> members = {};
    // pgsql: names its .cf file in path (lib/mail/pgsql_table).
    bool pgsql = false;

    bool indexed() const { return !pattern && memory == Memory::none && !composed && !pgsql; }
    // The file a change of which means the table must be opened again
    // (none for static:).
    std::string table_file() const {
        if (memory == Memory::static_value || memory == Memory::inline_table || composed) return std::string();
        return indexed() ? util::indexed_file(path, type) : path;
    }
};
// "hash:/etc/aliases", "btree:/x", "lmdb:/x", "cdb:/x", "regexp:/x", "pcre:/x", "texthash:/x",
// "cidr:/x", "static:value", "inline:{k=v, ...}", "unionmap:{t, t}",
// "pipemap:{t, t}" or "pgsql:/x.cf"; other types are an error.
util::Result<MapSpec> parse_map_spec(std::string_view spec);
// Whether a table is searched with the whole key only (regexp:, pcre:, cidr:),
// as Postfix's pattern tables: the access checks skip their partial keys
// (parent domains, "user@", address prefixes) for such a table.
bool map_matches_whole_key_only(std::string_view spec);

// A list of tables searched in order (alias_maps, transport_maps, ...).
class MapList {
public:
    // Tables that do not exist, or whose source has an error (a regexp:
    // table's "FILE, line N: ..."), are skipped with a warning in
    // warnings(); callers that must not read a missing table as "not
    // found" (the access checks) treat a warning as an error.
    static util::Result<MapList> open(const std::vector<std::string>& specs);
    // A list that answers nothing and warns why (a list that could not be
    // opened at all: an unsupported table type).
    static MapList unusable(std::string why);
    util::Result<std::optional<std::string>> lookup(std::string_view key) const;
    // A partial key (a parent domain, "user" of "user@domain", an address
    // prefix): pattern tables (regexp:, pcre:) are skipped, as Postfix's
    // maps_find skips them for DICT_FLAG_FIXED lookups.
    util::Result<std::optional<std::string>> lookup_partial(std::string_view key) const;
    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    std::vector<std::variant<std::shared_ptr<util::IndexedMap>, std::shared_ptr<RegexpTable>, std::shared_ptr<TextTable>,
                             std::shared_ptr<CidrTable>, std::shared_ptr<ComposedTable>, std::shared_ptr<PgsqlTable>>>
        maps_;
    std::vector<std::string> warnings_;
};

// The tables a map-list parameter names (alias_maps, transport_maps),
// reopened when one is rebuilt (kurir-map renames a new file in) or, for
// regexp: and pcre: tables, when the file itself changes.
class Config;
class WatchedMaps {
public:
    explicit WatchedMaps(std::string parameter) : parameter_(std::move(parameter)) {}
    // Only these tables of the parameter (the rest are not tables of
    // files: local_recipient_maps' unix:passwd.byname).
    WatchedMaps(std::string parameter, std::vector<std::string> specs)
        : parameter_(std::move(parameter)), specs_(std::move(specs)) {}
    const MapList& get(const Config& cfg);

private:
    std::string parameter_;
    std::optional<std::vector<std::string>> specs_;
    std::optional<MapList> maps_;
    std::string stamp_;
};

}  // namespace kurir::mail
