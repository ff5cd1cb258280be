// A process's configuration: main.cf from the configuration directory over
// the parameter table, with -o overrides, typed accessors and expansion.
// Unknown parameter names are kept and reported as warnings with file:line;
// a value that does not fit its kind is an error.
#pragma once

#include "mail/main_cf.hpp"
#include "mail/params.hpp"
#include "util/result.hpp"

#include <string>
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
    const RawLookup& raw() const { return raw_; }
    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    std::string config_dir_;
    RawLookup raw_;       // defaults overlaid with explicit settings
    RawLookup explicit_;  // main.cf and overrides only
    std::vector<std::string> warnings_;
};

// "10s", "5m", "2h", "1d", "1w", or a bare number in default_unit.
util::Result<long> parse_time(std::string_view text, char default_unit);
util::Result<long> parse_integer(std::string_view text);
util::Result<bool> parse_bool(std::string_view text);
std::vector<std::string> split_list(std::string_view text);
std::string local_hostname();
// The configuration directory when no -c/-C names one: $KURIR_CONFIG, else
// the compiled-in default (meson option config_directory, /etc/kurir). A
// set-gid program ignores $KURIR_CONFIG here; see mail/config_trust.hpp.
std::string default_config_dir();

}  // namespace kurir::mail
