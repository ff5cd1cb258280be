// virtual_alias_maps in cleanup, as Postfix's cleanup_map1n.c: each
// recipient is looked up again and again until no table knows it; a
// result of several addresses adds recipients, an address that maps to
// itself (among others) is kept and not looked up again. A table that
// cannot answer, a nesting deeper than virtual_alias_recursion_limit (a
// loop: a -> b -> a), more addresses than virtual_alias_expansion_limit or
// a result longer than virtual_alias_address_length_limit stops the
// message: it is deferred (4.6.0 Alias expansion error), never lost or
// bounced, and the warning names the address.
#pragma once

#include "mail/config.hpp"
#include "util/result.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::cleanup {

// An address in, the addresses a table maps it to (or nothing) out.
using AliasLookup = std::function<util::Result<std::optional<std::vector<std::string>>>(std::string_view address)>;

struct AliasLimits {
    long recursion = 1000;       // virtual_alias_recursion_limit
    long expansion = 1000;       // virtual_alias_expansion_limit
    long address_length = 1000;  // virtual_alias_address_length_limit
    static AliasLimits from_config(const mail::Config& cfg);
};

// The recipients address expands into (itself when no table knows it), or
// the warning's text ("unreasonable virtual_alias_maps map nesting for
// <a@b> -- deferring delivery").
util::Result<std::vector<std::string>> expand_virtual_alias(std::string_view address, const AliasLookup& lookup,
                                                            const AliasLimits& limits,
                                                            std::string_view title = "virtual_alias_maps");

// virtual_alias_maps' tables, reopened when rebuilt; nothing when the
// parameter is empty. The lookup is valid until the next call.
AliasLookup virtual_alias_lookup(const mail::Config& cfg);

}  // namespace kurir::cleanup
