// kurir-passwd's edit of a password table source (postmap's "key value"
// lines, here "user $argon2id$..."): replace, add or remove one user's
// line, keeping every other line (comments too) as it was.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kurir::tools {

// value nullopt removes the user; found tells whether a line was there.
std::string passwd_source_update(std::string_view text, std::string_view user,
                                 const std::optional<std::string>& value, bool& found);

// Whether a user name can be a table key: not empty, no whitespace, no
// control character, no leading "#".
bool passwd_user_ok(std::string_view user);

}  // namespace kurir::tools
