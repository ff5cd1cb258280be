// A process's configuration: main.cf from the configuration directory over
// the parameter table, with -o overrides, typed accessors and expansion.
// A value that does not fit its kind is an error. A main.cf name kurir does
// not implement is kept (it may be used as $name) and reported with
// file:line (mail/param_status): a Postfix parameter kurir does not
// implement is a warning, and so is an unknown name that no $name refers
// to; a setting that asks for security kurir does not provide (TLS, SASL)
// is a refusal, which master will not start or reload with. An override
// (-o) must name a parameter kurir implements or a Postfix one it does not
// (a warning); an unknown name, or one that asks for missing security, is
// an error.
#pragma once

#include "mail/main_cf.hpp"
#include "mail/master_cf.hpp"
#include "mail/params.hpp"
#include "util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kurir::mail {

class Config {
public:
    // Reads DIR/main.cf (a missing file is an error). overrides are
    // "name=value" strings applied on top, as master.cf's -o does.
    static util::Result<Config> load(const std::string& config_dir,
                                     const std::vector<std::string>& overrides = {});
    // Built from text, for tests and for kurir-conf -d.
    static util::Result<Config> from_text(std::string_view main_cf, const std::string& config_dir,
                                          const std::vector<std::string>& overrides = {});

    std::string str(std::string_view name) const;
    long integer(std::string_view name) const;
    long seconds(std::string_view name) const;
    bool boolean(std::string_view name) const;
    // Values split on commas and whitespace.
    std::vector<std::string> list(std::string_view name) const;

    const std::string& config_dir() const { return config_dir_; }
    // The unexpanded value a name is set to, if main.cf or an override sets it.
    const RawLookup& explicit_values() const { return explicit_; }
    // The unexpanded value of a name: set, computed at load (myhostname,
    // mydomain, config_directory), or the parameter table's default;
    // nullopt for a name neither sets nor knows.
    std::optional<std::string_view> raw_value(std::string_view name) const;
    // raw_value as a function, for expand_value; valid while this Config is.
    RawValueOf raw_lookup() const;
    // Every name with its unexpanded value (kurir-conf), made on each call.
    RawLookup raw() const;
    // "FILE:LINE: ..." for each setting kurir ignores.
    std::vector<std::string> warnings() const;
    // "FILE:LINE: ..." for each setting that asks for security kurir does
    // not provide: master refuses to start or reload; kurir check reports.
    const std::vector<std::string>& refusals() const { return refusals_; }
    // Stops reporting unknown names that one of VALUES refers to by $name
    // (master.cf -o values, which main.cf alone does not see).
    void forgive_referenced(const std::vector<std::string>& values);

private:
    struct Ignored {
        std::string name;
        std::string text;
        bool unknown = false;  // not a Postfix parameter kurir knows
    };
    std::string config_dir_;
    // Explicit settings and the values computed at load, over the parameter
    // table's defaults, which are not copied: a map of every parameter was
    // about 35 KB of heap in each process (doc/performance.md).
    RawLookup set_;
    RawLookup explicit_;  // main.cf and overrides only
    std::vector<Ignored> ignored_;
    std::vector<std::string> refusals_;
};

// master.cf's "-o name=value" service arguments, checked as overrides are
// (see Config) but with master.cf's file and line: an unknown name, a
// missing value or a setting that asks for missing security is an error;
// a Postfix parameter kurir does not implement is a warning (returned).
// Unknown main.cf names an -o value refers to by $name are forgiven in cfg.
util::Result<std::vector<std::string>> check_service_options(Config& cfg, const std::vector<ServiceEntry>& services,
                                                             const std::string& file);

// "10s", "5m", "2h", "1d", "1w", or a bare number in default_unit.
util::Result<long> parse_time(std::string_view text, char default_unit);
util::Result<long> parse_integer(std::string_view text);
util::Result<bool> parse_bool(std::string_view text);
// Items separated by commas and whitespace, outside { } (Postfix's list
// syntax; "inline:{a=b, c=d}" stays one item).
std::vector<std::string> split_list(std::string_view text);
std::string local_hostname();
// The configuration directory when no -c/-C names one: $KURIR_CONFIG, else
// the compiled-in default (meson option config_directory, /etc/kurir). A
// set-gid program ignores $KURIR_CONFIG here; see mail/config_trust.hpp.
std::string default_config_dir();

}  // namespace kurir::mail
