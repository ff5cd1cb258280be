// Which configuration directory a set-gid program (kurir-drop, kurir-queue)
// may act on with its group privilege, as Postfix's mail_conf_checkdir():
// the compiled-in default, any directory when the real user is root, and
// otherwise only a directory that the default main.cf lists in
// alternate_config_directories or multi_instance_directories. A directory
// the caller names (-c, KURIR_CONFIG) is the caller's word, nothing more.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kurir::mail {

// The compiled-in default (meson option config_directory, /etc/kurir).
std::string compiled_config_dir();

// The directory a set-gid program was asked for: -c, else $KURIR_CONFIG
// (read as the caller's word even though secure_getenv would hide it from
// a set-gid process), else the compiled-in default.
std::string caller_config_dir(const std::optional<std::string>& dash_c);

// Whether default_main_cf (the text of the default main.cf) lists dir in
// alternate_config_directories or multi_instance_directories, compared as
// strings, as Postfix does. Tolerant: a line it cannot read is skipped and
// no part of the text ever reaches an error message.
bool config_dir_listed(std::string_view dir, std::string_view default_main_cf);

// True when the real user is root, dir is the compiled-in default, or the
// default main.cf (read with the caller's own rights) lists it.
bool config_dir_trusted(const std::string& dir);

}  // namespace kurir::mail
