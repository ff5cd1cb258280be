#include "util/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <string>

namespace kurir::util {
namespace {
bool to_bytes(std::string_view text, int& family, std::array<unsigned char, 16>& out) {
    std::string s(text);
    if (::inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
        family = AF_INET;
        return true;
    }
    if (::inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
        family = AF_INET6;
        return true;
    }
    return false;
}
}  // namespace

Result<Cidr> parse_cidr(std::string_view text) {
    Cidr c;
    if (text.find('\0') != std::string_view::npos) return fail("bad network address: NUL byte");
    std::string_view addr = text;
    int prefix = -1;
    if (auto slash = text.rfind('/'); slash != text.npos) {
        addr = text.substr(0, slash);
        std::string_view p = text.substr(slash + 1);
        if (p.empty() || p.find_first_not_of("0123456789") != std::string_view::npos)
            return fail("bad network prefix: " + std::string(text));
        auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
        if (ec != std::errc() || ptr != p.data() + p.size() || p.empty())
            return fail("bad network prefix: " + std::string(text));
    }
    if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
    if (!to_bytes(addr, c.family, c.addr)) return fail("bad network address: " + std::string(text));
    int max = c.family == AF_INET ? 32 : 128;
    if (prefix < 0) prefix = max;
    if (prefix > max) return fail("bad network prefix: " + std::string(text));
    c.prefix = prefix;
    return c;
}

bool cidr_match(const Cidr& net, std::string_view address) {
    int family = 0;
    std::array<unsigned char, 16> a{};
    if (!to_bytes(address, family, a)) return false;
    if (family == AF_INET6 && net.family == AF_INET) {
        // ::ffff:a.b.c.d matches IPv4 networks
        static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!std::equal(mapped, mapped + 12, a.begin())) return false;
        std::copy(a.begin() + 12, a.end(), a.begin());
        family = AF_INET;
    }
    if (family != net.family) return false;
    int bits = net.prefix;
    for (size_t i = 0; bits > 0; ++i, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
        if ((a[i] & mask) != (net.addr[i] & mask)) return false;
    }
    return true;
}

bool cidr_match_any(const std::vector<Cidr>& nets, std::string_view address) {
    for (const auto& n : nets)
        if (cidr_match(n, address)) return true;
    return false;
}

}  // namespace kurir::util
