// A Postfix domain list (relay_domains): host or domain names, "!name"
// exclusions, "/file/name" patterns (replaced by the file's names) and
// "type:table" lookup tables, matched in order; the first pattern that
// matches decides. A name matches itself and, with parent matching (for
// relay_domains, as in Postfix's default parent_domain_matches_subdomains),
// its subdomains; ".name" matches subdomains only. A table matches when
// the domain (or, with parent matching, a parent domain) is a key. A table that cannot answer is an error, never "no".
#pragma once

#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "util/result.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kurir::mail {

class DomainList {
public:
    // The parameter's items; a /file/name is read now. The parameter name
    // is for error texts and for reopening a rebuilt table.
    // parent_matches: whether a name matches its subdomains too (Postfix's
    // parent_domain_matches_subdomains has relay_domains, not the virtual
    // domain lists).
    static util::Result<DomainList> from_items(const std::string& parameter, const std::vector<std::string>& items,
                                               bool parent_matches = true);
    static util::Result<DomainList> from_config(const Config& cfg, const std::string& parameter,
                                                bool parent_matches = true);

    bool empty() const { return patterns_.empty(); }
    util::Result<bool> matches(const Config& cfg, std::string_view domain) const;

private:
    struct Pattern {
        std::string name;  // lowercased; the table spec for tables
        bool negated = false;
        std::shared_ptr<WatchedMaps> table;  // set for "type:table"
    };
    std::string parameter_;
    std::vector<Pattern> patterns_;
    bool parent_matches_ = true;
};

// The list a parameter names, made again when the parameter's value
// changes (a reload); a list that does not load is an error at each use.
class WatchedDomainList {
public:
    explicit WatchedDomainList(std::string parameter, bool parent_matches = true)
        : parameter_(std::move(parameter)), parent_matches_(parent_matches) {}
    util::Result<const DomainList*> get(const Config& cfg);

private:
    std::string parameter_;
    bool parent_matches_;
    std::vector<std::string> items_;
    util::Result<DomainList> list_ = util::fail("not loaded");
    bool loaded_ = false;
};

}  // namespace kurir::mail
