#include "server/open_files.hpp"

#include <catch2/catch.hpp>

using namespace kurir::server;

TEST_CASE("fit_clients: the soft limit is raised as far as the clients need", "[open_files]") {
    auto fit = fit_clients(1000, rlimit{1024, 524288});
    CHECK(fit.clients == 1000);
    CHECK(fit.soft == 1000 * kFilesPerClient + kFilesReserved);
}

TEST_CASE("fit_clients: a soft limit that suffices is left alone", "[open_files]") {
    auto fit = fit_clients(200, rlimit{20000, 20000});
    CHECK(fit.clients == 200);
    CHECK(fit.soft == 20000);
    auto inf = fit_clients(1000, rlimit{RLIM_INFINITY, RLIM_INFINITY});
    CHECK(inf.clients == 1000);
    CHECK(inf.soft == RLIM_INFINITY);
    auto to_inf = fit_clients(1000, rlimit{1024, RLIM_INFINITY});
    CHECK(to_inf.soft == 1000 * kFilesPerClient + kFilesReserved);
}

TEST_CASE("fit_clients: a hard limit too low costs clients, never below one", "[open_files]") {
    auto fit = fit_clients(1000, rlimit{1024, 1024});
    CHECK(fit.soft == 1024);
    CHECK(fit.clients == (1024 - kFilesReserved) / kFilesPerClient);
    auto tiny = fit_clients(1000, rlimit{16, 16});
    CHECK(tiny.clients == 1);
    CHECK(fit_clients(0, rlimit{1024, 1024}).clients == 1);
}
