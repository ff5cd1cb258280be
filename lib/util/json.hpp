// JSON string quoting for the tools' -j outputs (RFC 8259): control
// characters escaped, bytes >= 0x80 passed through (UTF-8 stays UTF-8).
#pragma once

#include <string>
#include <string_view>

namespace kurir::util {

std::string json_string(std::string_view text);

}  // namespace kurir::util
