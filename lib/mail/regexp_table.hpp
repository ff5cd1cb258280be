// regexp: (POSIX <regex.h>) and pcre: (PCRE2) lookup tables: the rules of
// mail/pattern_table.hpp compiled, and searched as Postfix searches them:
// the rules in order, each against the whole key, the first that matches
// gives its result with $n filled in; if..endif skips its rules when its
// pattern does not match. A table is always searched with the whole key
// (Postfix queries pattern tables with no partial keys: no parent domains,
// no "user@" or address prefixes).
#pragma once

#include "mail/pattern_table.hpp"
#include "util/result.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace kurir::mail {

class RegexpTable {
public:
    // Reads and compiles the file; every error names "FILE, line N".
    static util::Result<RegexpTable> load(const std::string& path, PatternKind kind);
    // Compiles parsed rules (a pattern the engine refuses, or a $n beyond
    // the pattern's groups, is an error at the rule's line).
    static util::Result<RegexpTable> compile(PatternTableSource source);

    RegexpTable(RegexpTable&&) noexcept;
    RegexpTable& operator=(RegexpTable&&) noexcept;
    ~RegexpTable();

    // The result of the first rule that matches key, nullopt when none
    // does; an error when the engine fails (PCRE2's match limit), which is
    // never "not found".
    util::Result<std::optional<std::string>> lookup(std::string_view key) const;

    PatternKind kind() const;
    const std::string& file() const;

private:
    struct Impl;
    explicit RegexpTable(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace kurir::mail
