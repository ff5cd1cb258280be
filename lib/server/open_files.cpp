#include "server/open_files.hpp"

#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kurir::server {

ClientCapacity fit_clients(int wanted, rlimit limit, int files_per_client, int reserved) {
    wanted = std::max(wanted, 1);
    const rlim_t needed = static_cast<rlim_t>(wanted) * static_cast<rlim_t>(files_per_client) +
                          static_cast<rlim_t>(reserved);
    rlim_t soft = limit.rlim_cur;
    if (soft != RLIM_INFINITY && soft < needed)
        soft = (limit.rlim_max == RLIM_INFINITY) ? needed : std::min(needed, limit.rlim_max);
    if (soft == RLIM_INFINITY || soft >= needed) return {wanted, soft};
    rlim_t room = soft > static_cast<rlim_t>(reserved) ? soft - static_cast<rlim_t>(reserved) : 0;
    int clients = static_cast<int>(room / static_cast<rlim_t>(files_per_client));
    return {std::max(clients, 1), soft};
}

int fit_clients_to_open_files(int wanted, int files_per_client, const char* program) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
    ClientCapacity fit = fit_clients(wanted, limit, files_per_client);
    if (fit.soft != limit.rlim_cur) {
        rlimit raised{fit.soft, limit.rlim_max};
        if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
            util::msg_warn("{}: raising the open file limit from {} to {}: {}", program, limit.rlim_cur, fit.soft,
                           std::strerror(errno));
            fit = fit_clients(wanted, limit.rlim_cur == RLIM_INFINITY ? limit : rlimit{limit.rlim_cur, limit.rlim_cur},
                              files_per_client);
        }
    }
    if (fit.clients < wanted)
        util::msg_warn("{}: the open file limit ({}) allows {} clients per process, not {}", program, fit.soft,
                       fit.clients, wanted);
    return fit.clients;
}

}  // namespace kurir::server
