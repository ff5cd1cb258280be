// Lookup tables: the source formats (postmap's "key value" lines and
// aliases(5)) as pure parsers, and "type:name" tables opened for lookups.
#pragma once

#include "util/db_map.hpp"
#include "util/result.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
    util::DbType type;
    std::string path;  // the source file; the table is path + ".db"
};
// "hash:/etc/aliases" or "btree:/x"; other types are an error.
util::Result<MapSpec> parse_map_spec(std::string_view spec);

// A list of tables searched in order (alias_maps, transport_maps, ...).
class MapList {
public:
    // Tables that do not exist are skipped with a warning in warnings().
    static util::Result<MapList> open(const std::vector<std::string>& specs);
    util::Result<std::optional<std::string>> lookup(std::string_view key) const;
    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    std::vector<std::shared_ptr<util::DbMap>> maps_;
    std::vector<std::string> warnings_;
};

// The tables a map-list parameter names (alias_maps, transport_maps),
// reopened when one is rebuilt (kurir-map renames a new file in).
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
