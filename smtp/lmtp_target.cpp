#include "smtp/lmtp_target.hpp"

#include <sys/un.h>

#include <cstddef>
#include <cstring>

namespace kurir::smtp {

std::optional<Target> unix_target(const std::string& path, const std::string& hostname) {
    sockaddr_un sun{};
    if (path.empty() || path.size() >= sizeof sun.sun_path) return std::nullopt;
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.data(), path.size());
    Target t;
    t.host = hostname;
    static_assert(sizeof(sockaddr_un) <= sizeof(sockaddr_storage));
    std::memcpy(&t.addr, &sun, sizeof sun);
    t.addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return t;
}

}  // namespace kurir::smtp
