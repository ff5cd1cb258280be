// kurir-conf's master.cf options (-M, -F, -P: show and edit) and its main.cf
// removals (-X, -#), as postconf(1) has them. Each returns an exit code.
#pragma once

#include <string>
#include <vector>

namespace kurir::tools {

// -M [service[/type]...], -F [service[/type[/field]]...], -P [service[/type[/param]]...]
int show_master(const std::string& dir, char what, bool fold, const std::vector<std::string>& patterns);
// -M service/type=entry, -F service/type/field=value, -P service/type/param=value;
// with remove (-X): -M service/type, -P service/type/param.
int edit_master(const std::string& dir, char what, bool remove, const std::vector<std::string>& requests);
// -X name... (comment_out: -# name...)
int remove_main(const std::string& dir, bool comment_out, const std::vector<std::string>& names);

}  // namespace kurir::tools
