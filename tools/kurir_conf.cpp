// NAME
//   kurir-conf - show and edit main.cf, as postconf(1)
// SYNOPSIS
//   kurir-conf [-c config_dir] [-n | -d] [-h] [-x] [name ...]
//   kurir-conf [-c config_dir] -e name=value ...
// DESCRIPTION
//   Prints "name = value" for every parameter (known ones and any others
//   main.cf sets), or for the names given. -n: only those main.cf sets; -d:
//   the defaults; -h: values only; -x: expand $name references. -e edits
//   main.cf in place (a durable rewrite), keeping comments and order.
//   Unknown names given on the command line are reported, as are unknown or
//   malformed parameters in main.cf and Postfix parameters kurir does not
//   implement (with file and line). -d lists only what kurir implements.
// DIAGNOSTICS
//   Exit 0 on success; EX_CONFIG when main.cf cannot be used; EX_USAGE for
//   bad arguments.
#include "mail/config.hpp"
#include "mail/main_cf.hpp"
#include "mail/param_status.hpp"
#include "mail/params.hpp"
#include "util/fs.hpp"

#include <fmt/format.h>
#include <sysexits.h>

#include <cstdlib>
#include <set>

using namespace kurir;

namespace {

[[noreturn]] void usage() {
    fmt::print(stderr,
               "usage: kurir-conf [-c config_dir] [-n | -d] [-h] [-x] [name ...]\n"
               "       kurir-conf [-c config_dir] -e name=value ...\n");
    std::exit(EX_USAGE);
}

int edit(const std::string& dir, const std::vector<std::string>& edits) {
    auto text = util::read_file(dir + "/main.cf");
    if (!text) {
        fmt::print(stderr, "kurir-conf: fatal: {}\n", text.error().text);
        return EX_CONFIG;
    }
    std::string out = *text;
    for (const auto& e : edits) {
        auto eq = e.find('=');
        if (eq == std::string::npos || eq == 0) usage();
        std::string name = e.substr(0, eq), value = e.substr(eq + 1);
        while (!name.empty() && name.back() == ' ') name.pop_back();
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        if (value.find('\n') != std::string::npos || name.find_first_of(" \t\n#") != std::string::npos) {
            fmt::print(stderr, "kurir-conf: fatal: bad edit \"{}\"\n", e);
            return EX_USAGE;
        }
        if (mail::param_status(name) == mail::ParamStatus::unimplemented)
            fmt::print(stderr, "kurir-conf: warning: {}: parameter is not implemented by kurir\n", name);
        else if (mail::param_status(name) == mail::ParamStatus::unknown)
            fmt::print(stderr, "kurir-conf: warning: {}: unknown parameter\n", name);
        out = mail::edit_main_cf(out, name, value);
    }
    // Refuse an edit that would leave main.cf unusable.
    auto check = mail::Config::from_text(out, dir);
    if (!check) {
        fmt::print(stderr, "kurir-conf: fatal: not saved: {}\n", check.error().text);
        return EX_CONFIG;
    }
    for (const auto& r : check->refusals()) fmt::print(stderr, "kurir-conf: warning: {}\n", r);
    if (auto r = util::write_file_durable(dir, "main.cf", out); !r) {
        fmt::print(stderr, "kurir-conf: fatal: {}\n", r.error().text);
        return EX_CANTCREAT;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = mail::default_config_dir();
    bool non_default = false, defaults = false, values_only = false, expand = false, editing = false;
    std::vector<std::string> names;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc)
            dir = argv[++i];
        else if (a == "-n")
            non_default = true;
        else if (a == "-d")
            defaults = true;
        else if (a == "-h")
            values_only = true;
        else if (a == "-x")
            expand = true;
        else if (a == "-e")
            editing = true;
        else if (!a.empty() && a[0] == '-')
            usage();
        else
            names.push_back(a);
    }
    if (non_default && defaults) usage();
    if (editing) return names.empty() ? (usage(), EX_USAGE) : edit(dir, names);

    auto cfg = defaults ? mail::Config::from_text("", dir) : mail::Config::load(dir);
    if (!cfg) {
        fmt::print(stderr, "kurir-conf: fatal: {}\n", cfg.error().text);
        return EX_CONFIG;
    }
    for (const auto& r : cfg->refusals()) fmt::print(stderr, "kurir-conf: warning: {}\n", r);
    for (const auto& w : cfg->warnings()) fmt::print(stderr, "kurir-conf: warning: {}\n", w);
    std::set<std::string> show;
    int rc = 0;
    if (names.empty()) {
        for (const auto& [name, value] : non_default ? cfg->explicit_values() : cfg->raw()) show.insert(name);
    } else {
        for (const auto& n : names) {
            if (cfg->raw().count(n) == 0) {
                if (mail::param_status(n) == mail::ParamStatus::unimplemented)
                    fmt::print(stderr, "kurir-conf: warning: {}: parameter is not implemented by kurir\n", n);
                else
                    fmt::print(stderr, "kurir-conf: warning: {}: unknown parameter\n", n);
                rc = EX_CONFIG;
                continue;
            }
            show.insert(n);
        }
    }
    for (const auto& name : show) {
        std::string value = expand ? cfg->str(name) : cfg->raw().find(name)->second;
        if (values_only)
            fmt::print("{}\n", value);
        else if (value.empty())
            fmt::print("{} =\n", name);
        else
            fmt::print("{} = {}\n", name, value);
    }
    return rc;
}
