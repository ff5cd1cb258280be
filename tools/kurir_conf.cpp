// NAME
//   kurir-conf - show and edit main.cf, as postconf(1)
// SYNOPSIS
//   kurir-conf [-c config_dir] [-n | -d] [-h] [-x] [name ...]
//   kurir-conf [-c config_dir] -e name=value ...
//   kurir-conf [-c config_dir] -X | -# name ...
//   kurir-conf [-c config_dir] -M[f] [service[/type] ...]
//   kurir-conf [-c config_dir] -F [service[/type[/field]] ...]
//   kurir-conf [-c config_dir] -P [service[/type[/parameter]] ...]
//   kurir-conf [-c config_dir] -M service/type='entry' ...
//   kurir-conf [-c config_dir] -F service/type/field=value ...
//   kurir-conf [-c config_dir] -P service/type/parameter=value ...
//   kurir-conf [-c config_dir] -MX service/type ... | -PX service/type/parameter ...
// DESCRIPTION
//   Prints "name = value" for every parameter (known ones and any others
//   main.cf sets), or for the names given. -n: only those main.cf sets; -d:
//   the defaults; -h: values only; -x: expand $name references. -e edits
//   main.cf in place (a durable rewrite), keeping comments and order.
//   Unknown names given on the command line are reported, as are unknown or
//   malformed parameters in main.cf and Postfix parameters kurir does not
//   implement (with file and line). -d lists only what kurir implements.
//   -X removes the named parameters from main.cf (their continuation lines
//   too), -# comments them out; comments and every other line are kept.
//
//   The master.cf options are postconf's. -M prints the service entries, all
//   or those named (service or service/type), one line each with the fields
//   at postconf's columns (name type private unpriv chroot wakeup maxproc
//   command args); -Mf folds long lines and puts each "-o name=value" on a
//   line of its own. -F prints fields as "service/type/field = value" (field:
//   service, type, private, unprivileged, chroot, wakeup, process_limit,
//   command). -P prints each service's "-o" settings as
//   "service/type/parameter = value". A pattern part may be "*"; a request
//   that matches nothing is warned about.
//
//   An argument with "=" edits master.cf, as with postconf: -P
//   service/type/parameter=value replaces that -o setting or adds one after
//   the service's other options; -PX service/type/parameter removes it. -F
//   service/type/field=value sets a field (command: the command and its
//   arguments). -M service/type='entry' replaces the entry, or adds it at
//   the end; -MX service/type removes it. An edited entry is written as -Mf
//   prints it, in the place of the old one; comments stay.
//
//   Every edit is atomic: the new file is written beside the old one,
//   fsync'd and renamed over it, with the old file's mode (and owner, when
//   run by root). An edit is refused, and nothing written, when the result
//   would not be used as it is: an unknown parameter name, a malformed
//   entry, or a master.cf or main.cf that master would not start with.
// DIAGNOSTICS
//   Exit 0 on success; EX_CONFIG when main.cf or master.cf cannot be used
//   or an edit is refused; EX_USAGE for bad arguments; EX_CANTCREAT when
//   the new file cannot be written.
#include "mail/config.hpp"
#include "mail/main_cf.hpp"
#include "mail/param_status.hpp"
#include "mail/params.hpp"
#include "tools/conf_master.hpp"
#include "util/fs.hpp"

#include <fmt/format.h>
#include <sysexits.h>

#include <algorithm>
#include <cstdlib>
#include <set>

using namespace kurir;

namespace {

[[noreturn]] void usage() {
    fmt::print(stderr,
               "usage: kurir-conf [-c config_dir] [-n | -d] [-h] [-x] [name ...]\n"
               "       kurir-conf [-c config_dir] -e name=value ... | -X name ... | -# name ...\n"
               "       kurir-conf [-c config_dir] -M[f] | -F | -P [pattern ...]\n"
               "       kurir-conf [-c config_dir] -M | -F | -P key=value ... | -MX | -PX key ...\n");
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
    if (auto r = util::replace_file_durable(dir, "main.cf", out); !r) {
        fmt::print(stderr, "kurir-conf: fatal: {}\n", r.error().text);
        return EX_CANTCREAT;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = mail::default_config_dir();
    bool non_default = false, defaults = false, values_only = false, expand = false, editing = false;
    bool remove = false, comment_out = false, fold = false;
    char master = 0;  // M, F or P
    std::vector<std::string> names;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" && i + 1 < argc) {
            dir = argv[++i];
            continue;
        }
        if (a.size() < 2 || a[0] != '-') {
            names.push_back(a);
            continue;
        }
        for (char c : a.substr(1)) {  // options cluster, as getopt's: -Mf, -PX
            switch (c) {
                case 'n': non_default = true; break;
                case 'd': defaults = true; break;
                case 'h': values_only = true; break;
                case 'x': expand = true; break;
                case 'e': editing = true; break;
                case 'X': remove = true; break;
                case '#': comment_out = true; break;
                case 'f': fold = true; break;
                case 'M':
                case 'F':
                case 'P':
                    if (master != 0 && master != c) usage();
                    master = c;
                    break;
                default: usage();
            }
        }
    }
    if (non_default && defaults) usage();
    if (remove && comment_out) usage();
    if (master != 0) {
        if (non_default || defaults || expand || values_only || comment_out || (fold && master != 'M')) usage();
        bool edits = remove || std::any_of(names.begin(), names.end(), [](const std::string& n) {
                         return n.find('=') != std::string::npos;
                     });
        if (!edits && !editing) return tools::show_master(dir, master, fold, names);
        if (names.empty() || (remove && master == 'F')) usage();
        return tools::edit_master(dir, master, remove, names);
    }
    if (fold) usage();
    if (remove || comment_out) return names.empty() ? (usage(), EX_USAGE) : tools::remove_main(dir, comment_out, names);
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
            if (!cfg->raw_value(n)) {
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
        std::string value = expand ? cfg->str(name) : std::string(cfg->raw_value(name).value_or(""));
        if (values_only)
            fmt::print("{}\n", value);
        else if (value.empty())
            fmt::print("{} =\n", name);
        else
            fmt::print("{} = {}\n", name, value);
    }
    return rc;
}
