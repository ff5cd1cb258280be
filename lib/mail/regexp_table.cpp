#include "mail/regexp_table.hpp"

#include "util/fs.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <regex.h>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace kurir::mail {
namespace {

struct PosixFree {
    void operator()(regex_t* r) const {
        ::regfree(r);
        delete r;
    }
};
struct PcreFree {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct MatchDataFree {
    void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

// One compiled pattern of either engine.
struct Regex {
    std::unique_ptr<regex_t, PosixFree> posix;
    std::unique_ptr<pcre2_code, PcreFree> pcre;
    bool negated = false;
    size_t groups = 0;
};

struct Rule {
    PatternRule::Op op;
    int line;
    Regex first;
    std::optional<Regex> second;
    std::vector<ResultPart> result;
    int max_group;
    size_t endif;
};

std::string at(const std::string& file, int line, std::string_view what) {
    return fmt::format("{}, line {}: {}", file, line, what);
}

util::Result<Regex> compile_posix(const Pattern& p, const std::string& file, int line) {
    int flags = (p.flags.extended ? REG_EXTENDED : 0) | (p.flags.icase ? REG_ICASE : 0) |
                (p.flags.multiline ? REG_NEWLINE : 0);
    auto* raw = new regex_t{};
    int rc = ::regcomp(raw, p.regex.c_str(), flags);
    if (rc != 0) {
        char buf[256];
        ::regerror(rc, raw, buf, sizeof(buf));
        delete raw;  // regcomp frees what it allocated when it fails
        return util::fail(at(file, line, buf));
    }
    Regex r;
    r.posix.reset(raw);
    r.negated = p.negated;
    r.groups = raw->re_nsub;
    return r;
}

util::Result<Regex> compile_pcre(const Pattern& p, const std::string& file, int line) {
    uint32_t options = (p.flags.icase ? PCRE2_CASELESS : 0) | (p.flags.multiline ? PCRE2_MULTILINE : 0) |
                       (p.flags.dotall ? PCRE2_DOTALL : 0) | (p.flags.extended ? PCRE2_EXTENDED : 0) |
                       (p.flags.anchored ? PCRE2_ANCHORED : 0) | (p.flags.dollar_endonly ? PCRE2_DOLLAR_ENDONLY : 0) |
                       (p.flags.ungreedy ? PCRE2_UNGREEDY : 0);
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.regex.data()), p.regex.size(), options, &error,
                                     &offset, nullptr);
    if (code == nullptr) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(error, buf, sizeof(buf));
        return util::fail(
            at(file, line, fmt::format("error in regex at offset {}: {}", offset, reinterpret_cast<char*>(buf))));
    }
    Regex r;
    r.pcre.reset(code);
    r.negated = p.negated;
    uint32_t groups = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
    r.groups = groups;
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // faster when it can; the interpreter otherwise
    return r;
}

}  // namespace

struct RegexpTable::Impl {
    PatternKind kind;
    std::string file;
    std::vector<Rule> rules;
    // Scratch for the groups of the last match: lookups are not reentrant
    // (every daemon runs one thread).
    mutable std::vector<regmatch_t> pmatch;
    mutable std::string posix_key;
    std::unique_ptr<pcre2_match_data, MatchDataFree> match_data;

    // Whether the rule's pattern decides for key (matches, or does not
    // when negated); the groups are left in pmatch / match_data.
    // want_groups: the rule's result uses $n; without it regexec is asked
    // no positions, which spares glibc the search for the match's extent.
    util::Result<bool> decides(const Regex& re, std::string_view key, int line, bool want_groups) const {
        if (re.posix) {
            // regexec wants a C string even with REG_STARTEND (which makes
            // a NUL in the key an ordinary byte): a copy that has one.
            posix_key.assign(key);
            pmatch[0].rm_so = 0;
            pmatch[0].rm_eo = static_cast<regoff_t>(key.size());
            int rc = ::regexec(re.posix.get(), posix_key.c_str(), want_groups ? pmatch.size() : 0, pmatch.data(),
                               REG_STARTEND);
            if (rc == 0) return !re.negated;
            if (rc == REG_NOMATCH) return re.negated;
            char buf[256];
            ::regerror(rc, re.posix.get(), buf, sizeof(buf));
            return util::fail(at(file, line, buf));
        }
        int rc = pcre2_match(re.pcre.get(), reinterpret_cast<PCRE2_SPTR>(key.data()), key.size(), 0, 0,
                             match_data.get(), nullptr);
        if (rc >= 0) return !re.negated;  // 0: more groups than kept, a match all the same
        if (rc == PCRE2_ERROR_NOMATCH) return re.negated;
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(rc, buf, sizeof(buf));
        return util::fail(at(file, line, reinterpret_cast<char*>(buf)));
    }

    std::string group(std::string_view key, int n) const {
        size_t i = static_cast<size_t>(n);
        if (kind == PatternKind::regexp) {
            if (i >= pmatch.size() || pmatch[i].rm_so < 0) return {};
            return std::string(key.substr(pmatch[i].rm_so, pmatch[i].rm_eo - pmatch[i].rm_so));
        }
        if (i >= pcre2_get_ovector_count(match_data.get())) return {};
        PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match_data.get());
        if (ov[2 * i] == PCRE2_UNSET || ov[2 * i + 1] < ov[2 * i]) return {};
        return std::string(key.substr(ov[2 * i], ov[2 * i + 1] - ov[2 * i]));
    }
};

RegexpTable::RegexpTable(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RegexpTable::RegexpTable(RegexpTable&&) noexcept = default;
RegexpTable& RegexpTable::operator=(RegexpTable&&) noexcept = default;
RegexpTable::~RegexpTable() = default;

PatternKind RegexpTable::kind() const { return impl_->kind; }
const std::string& RegexpTable::file() const { return impl_->file; }

util::Result<RegexpTable> RegexpTable::load(const std::string& path, PatternKind kind) {
    auto text = util::read_file(path);
    if (!text) return std::unexpected(text.error());
    auto source = parse_pattern_table(*text, kind, path);
    if (!source) return std::unexpected(source.error());
    return compile(std::move(*source));
}

util::Result<RegexpTable> RegexpTable::compile(PatternTableSource source) {
    auto impl = std::make_unique<Impl>();
    impl->kind = source.kind;
    impl->file = source.file;
    int max_group = 0;
    for (auto& r : source.rules) {
        Rule rule{r.op, r.line, {}, std::nullopt, std::move(r.result), r.max_group, r.endif};
        if (r.op != PatternRule::Op::endif) {
            auto first = source.kind == PatternKind::pcre ? compile_pcre(r.pattern, source.file, r.line)
                                                          : compile_posix(r.pattern, source.file, r.line);
            if (!first) return std::unexpected(first.error());
            rule.first = std::move(*first);
            if (static_cast<size_t>(r.max_group) > rule.first.groups)
                return util::fail(at(source.file, r.line,
                                     fmt::format("out of range replacement index \"{}\" (the pattern has {} "
                                                 "group{})",
                                                 r.max_group, rule.first.groups, rule.first.groups == 1 ? "" : "s")));
        }
        if (r.second) {
            auto second = compile_posix(*r.second, source.file, r.line);
            if (!second) return std::unexpected(second.error());
            rule.second = std::move(*second);
        }
        max_group = std::max(max_group, r.max_group);
        impl->rules.push_back(std::move(rule));
    }
    impl->pmatch.resize(static_cast<size_t>(max_group) + 1);
    if (source.kind == PatternKind::pcre) {
        impl->match_data.reset(pcre2_match_data_create(static_cast<uint32_t>(max_group) + 1, nullptr));
        if (!impl->match_data) return util::fail(source.file + ": out of memory");
    }
    return RegexpTable(std::move(impl));
}

util::Result<std::optional<std::string>> RegexpTable::lookup(std::string_view key) const {
    const auto& rules = impl_->rules;
    for (size_t i = 0; i < rules.size(); ++i) {
        const Rule& r = rules[i];
        if (r.op == PatternRule::Op::endif) continue;
        bool want_groups = r.op != PatternRule::Op::if_ && r.max_group > 0;
        auto d = impl_->decides(r.first, key, r.line, want_groups);
        if (!d) return std::unexpected(d.error());
        if (r.op == PatternRule::Op::if_) {
            if (!*d) i = r.endif;  // past the rules of this if
            continue;
        }
        if (!*d) continue;
        if (r.second) {
            // The second pattern's groups are not used: keep the first's.
            std::vector<regmatch_t> saved = impl_->pmatch;
            auto d2 = impl_->decides(*r.second, key, r.line, false);
            impl_->pmatch = std::move(saved);
            if (!d2) return std::unexpected(d2.error());
            if (!*d2) continue;
        }
        if (r.max_group == 0) {
            std::string out;
            for (const auto& p : r.result) out += p.text;
            return out;
        }
        return expand_result(r.result, [&](int n) { return impl_->group(key, n); });
    }
    return std::optional<std::string>();
}

}  // namespace kurir::mail
