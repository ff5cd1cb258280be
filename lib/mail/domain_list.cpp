#include "mail/domain_list.hpp"

#include "mail/address.hpp"
#include "util/fs.hpp"

namespace kurir::mail {
namespace {

// The names of a /file/name pattern: separated by whitespace or commas,
// "#" starts a comment.
std::vector<std::string> file_names(std::string_view text) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < text.size()) {
        size_t eol = text.find('\n', i);
        std::string_view line = text.substr(i, eol == std::string_view::npos ? std::string_view::npos : eol - i);
        i = eol == std::string_view::npos ? text.size() : eol + 1;
        if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        size_t p = 0;
        while (p < line.size()) {
            size_t start = line.find_first_not_of(" \t\r,", p);
            if (start == std::string_view::npos) break;
            size_t end = line.find_first_of(" \t\r,", start);
            out.emplace_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
            p = end == std::string_view::npos ? line.size() : end;
        }
    }
    return out;
}

bool is_table(std::string_view item) {
    size_t colon = item.find(':');
    return colon != std::string_view::npos && colon > 0 && item.front() != '[' && item.front() != '/';
}

}  // namespace

util::Result<DomainList> DomainList::from_items(const std::string& parameter, const std::vector<std::string>& items,
                                               bool parent_matches) {
    DomainList list;
    list.parameter_ = parameter;
    list.parent_matches_ = parent_matches;
    for (const auto& raw : items) {
        std::string_view item = raw;
        bool negated = !item.empty() && item.front() == '!';
        if (negated) item.remove_prefix(1);
        if (item.empty()) return util::fail(parameter + ": empty pattern in \"" + raw + "\"");
        if (item.front() == '/') {
            auto text = util::read_file(std::string(item));
            if (!text) return util::fail(parameter + ": " + text.error().text);
            for (auto& name : file_names(*text)) list.patterns_.push_back({lowercase(name), negated, nullptr});
        } else if (is_table(item)) {
            if (auto spec = parse_map_spec(item); !spec) return util::fail(parameter + ": " + spec.error().text);
            auto table = std::make_shared<WatchedMaps>(parameter, std::vector<std::string>{std::string(item)});
            list.patterns_.push_back({std::string(item), negated, std::move(table)});
        } else {
            list.patterns_.push_back({lowercase(item), negated, nullptr});
        }
    }
    return list;
}

util::Result<DomainList> DomainList::from_config(const Config& cfg, const std::string& parameter,
                                                bool parent_matches) {
    return from_items(parameter, cfg.list(parameter), parent_matches);
}

util::Result<bool> DomainList::matches(const Config& cfg, std::string_view domain_in) const {
    std::string domain = lowercase(domain_in);
    while (!domain.empty() && domain.back() == '.') domain.pop_back();
    if (domain.empty()) return false;
    for (const auto& p : patterns_) {
        bool hit = false;
        if (p.table) {
            const MapList& maps = p.table->get(cfg);
            if (!maps.warnings().empty()) return util::fail(parameter_ + ": " + maps.warnings().front());
            // The domain, then (with parent_matches) each parent domain.
            for (size_t at = 0; !hit && at != std::string::npos;) {
                if (at > 0 && !parent_matches_) break;
                std::string_view key = std::string_view(domain).substr(at);
                auto found = at == 0 ? maps.lookup(key) : maps.lookup_partial(key);
                if (!found) return util::fail(parameter_ + ": " + found.error().text);
                hit = found->has_value();
                size_t dot = domain.find('.', at);
                at = dot == std::string::npos ? dot : dot + 1;
            }
        } else if (!p.name.empty() && p.name.front() == '.') {
            hit = domain.size() > p.name.size() && domain.ends_with(p.name);
        } else {
            hit = domain == p.name ||
                  (parent_matches_ && domain.size() > p.name.size() && domain.ends_with(p.name) &&
                   domain[domain.size() - p.name.size() - 1] == '.');
        }
        if (hit) return !p.negated;
    }
    return false;
}

util::Result<const DomainList*> WatchedDomainList::get(const Config& cfg) {
    std::vector<std::string> items = cfg.list(parameter_);
    if (!loaded_ || items != items_) {
        list_ = DomainList::from_items(parameter_, items, parent_matches_);
        items_ = std::move(items);
        loaded_ = true;
    }
    if (!list_) return std::unexpected(list_.error());
    return &*list_;
}

}  // namespace kurir::mail
