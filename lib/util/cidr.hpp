// Network address patterns as in mynetworks: "127.0.0.0/8", "[::1]/128",
// "192.0.2.1", "[2001:db8::]/32".
#pragma once

#include "util/result.hpp"

#include <array>
#include <string_view>
#include <vector>

namespace kurir::util {

struct Cidr {
    int family = 0;  // AF_INET or AF_INET6
    std::array<unsigned char, 16> addr{};
    int prefix = 0;
};

Result<Cidr> parse_cidr(std::string_view text);
bool cidr_match(const Cidr& net, std::string_view address);
bool cidr_match_any(const std::vector<Cidr>& nets, std::string_view address);

}  // namespace kurir::util
