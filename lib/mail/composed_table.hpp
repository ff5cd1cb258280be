// unionmap:{map, map, ...} and pipemap:{map, map, ...}, Postfix's
// dict_union and dict_pipe: a union asks every table and joins the
// results found with commas ("not found" when none has the key); a pipe
// asks the first table with the key, the next with that result, and so on
// ("not found" when one of them has nothing). A member that fails to open
// or fails a lookup makes the whole table fail, never "not found".
#pragma once

#include "util/result.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

class MapList;

class ComposedTable {
public:
    enum class Kind { union_map, pipe_map };
    // members are the "type:name" tables inside the braces.
    static util::Result<ComposedTable> open(Kind kind, const std::vector<std::string>& members,
                                            const std::string& name);
    util::Result<std::optional<std::string>> lookup(std::string_view key) const;
    // A partial key (see MapList::lookup_partial): pattern tables among the
    // members are skipped.
    util::Result<std::optional<std::string>> lookup_partial(std::string_view key) const;

private:
    util::Result<std::optional<std::string>> ask(std::string_view key, bool partial) const;
    Kind kind_ = Kind::union_map;
    std::vector<std::shared_ptr<const MapList>> members_;
};

}  // namespace kurir::mail
