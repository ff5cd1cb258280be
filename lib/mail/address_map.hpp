// Address lookups as Postfix's mail_addr_find(3) and mail_addr_map(3) do
// them for virtual_alias_maps and the canonical maps: the keys
// user+ext@domain, user@domain, then, only when the domain is local
// ($mydestination), user+ext and user, then @domain; the first key a table
// knows decides. A value is a list of addresses (commas or spaces between
// them; "<>" around one is removed); a value "@other" stands for the
// address's local part at "other". When the key that matched had the
// recipient_delimiter extension removed, the extension is put back into
// each result (propagate_unmatched_extensions' default: canonical,
// virtual). A table that cannot answer is an error, never "not found".
#pragma once

#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "util/result.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

// One key in, the table's value (or nothing) out.
using KeyLookup = std::function<util::Result<std::optional<std::string>>(std::string_view key, bool partial)>;

// The keys of address, in order, each with whether it is a partial key
// (regexp: and pcre: tables see the whole address only).
struct AddressKey {
    std::string key;
    bool partial = false;
    bool without_extension = false;
};
std::vector<AddressKey> address_map_keys(std::string_view address, std::string_view delimiters, bool domain_is_local);

// The value's addresses.
std::vector<std::string> split_address_value(std::string_view value);

// The addresses address maps to, or nothing when no key is known.
util::Result<std::optional<std::vector<std::string>>> address_map(const Config& cfg, const KeyLookup& lookup,
                                                                   std::string_view address);

// The tables a parameter names (virtual_alias_maps, canonical_maps),
// reopened when rebuilt, searched as address_map does. A table that is
// missing or broken is an error at each lookup.
class AddressMapTable {
public:
    explicit AddressMapTable(std::string parameter) : parameter_(parameter), tables_(std::move(parameter)) {}
    bool enabled(const Config& cfg) const { return !cfg.list(parameter_).empty(); }
    util::Result<std::optional<std::vector<std::string>>> find(const Config& cfg, std::string_view address);

private:
    std::string parameter_;
    WatchedMaps tables_;
};

}  // namespace kurir::mail
