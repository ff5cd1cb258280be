#include "mail/composed_table.hpp"

#include "mail/maps.hpp"

namespace kurir::mail {

util::Result<ComposedTable> ComposedTable::open(Kind kind, const std::vector<std::string>& members,
                                                const std::string& name) {
    ComposedTable t;
    t.kind_ = kind;
    if (members.empty()) return util::fail(name + ": no table named");
    for (const auto& m : members) {
        auto list = MapList::open({m});
        if (!list) return util::fail(name + ": " + list.error().text);
        if (!list->warnings().empty()) return util::fail(name + ": " + list->warnings().front());
        t.members_.push_back(std::make_shared<const MapList>(std::move(*list)));
    }
    return t;
}

util::Result<std::optional<std::string>> ComposedTable::ask(std::string_view key, bool partial) const {
    std::string joined;
    bool found = false;
    std::string next(key);
    for (size_t i = 0; i < members_.size(); ++i) {
        const auto& m = members_[i];
        // A pipe's later tables are asked a result, a whole key.
        bool as_partial = partial && (kind_ == Kind::union_map || i == 0);
        auto v = as_partial ? m->lookup_partial(next) : m->lookup(next);
        if (!v) return v;
        if (kind_ == Kind::pipe_map) {
            if (!*v) return std::optional<std::string>();
            next = std::move(**v);
            continue;
        }
        if (!*v) continue;
        if (found) joined += ',';
        joined += **v;
        found = true;
    }
    if (kind_ == Kind::pipe_map) return std::optional<std::string>(std::move(next));
    return found ? std::optional<std::string>(std::move(joined)) : std::optional<std::string>();
}

util::Result<std::optional<std::string>> ComposedTable::lookup(std::string_view key) const { return ask(key, false); }

util::Result<std::optional<std::string>> ComposedTable::lookup_partial(std::string_view key) const {
    return ask(key, true);
}

}  // namespace kurir::mail
