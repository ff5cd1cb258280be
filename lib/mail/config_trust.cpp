#include "mail/config_trust.hpp"

#include "build_paths.hpp"
#include "mail/config.hpp"
#include "util/fs.hpp"

#include <unistd.h>

#include <cstdlib>

namespace kurir::mail {

std::string compiled_config_dir() { return KURIR_CONFIG_DIR; }

std::string caller_config_dir(const std::optional<std::string>& dash_c) {
    if (dash_c) return *dash_c;
    const char* env = ::getenv("KURIR_CONFIG");  // NOLINT: untrusted, checked by config_dir_trusted
    return env && *env ? env : KURIR_CONFIG_DIR;
}

bool config_dir_listed(std::string_view dir, std::string_view text) {
    // "name = value" with continuation lines, as main.cf; comments and
    // anything else skipped.
    std::string name, value;
    auto finish = [&] {
        bool found = false;
        if (name == "alternate_config_directories" || name == "multi_instance_directories")
            for (const auto& d : split_list(value)) found = found || d == dir;
        name.clear();
        value.clear();
        return found;
    };
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == text.npos ? text.npos : nl - pos);
        pos = nl == text.npos ? text.size() + 1 : nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        size_t first = line.find_first_not_of(" \t");
        if (first == line.npos || line[first] == '#') continue;
        if (first > 0) {  // a continuation of the entry before
            if (!name.empty()) value += " " + std::string(line.substr(first));
            continue;
        }
        if (finish()) return true;
        size_t eq = line.find('=');
        if (eq == line.npos) continue;
        std::string_view n = line.substr(0, eq);
        while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
        name = n;
        value = line.substr(eq + 1);
    }
    return finish();
}

bool config_dir_trusted(const std::string& dir) {
    if (::getuid() == 0 || dir == KURIR_CONFIG_DIR) return true;
    auto text = util::read_file(std::string(KURIR_CONFIG_DIR) + "/main.cf");
    return text && config_dir_listed(dir, *text);
}

}  // namespace kurir::mail
