#include "util/socket.hpp"

#include "../../test_util.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <vector>

using namespace kurir::util;
namespace kt = kurir::test;

TEST_CASE("connect_unix_nowait: a full listen queue is an error at once, not a wait", "[socket]") {
    kt::TempDir tmp;
    auto listener = listen_unix(tmp / "s", 0600, 1);
    REQUIRE(listener);
    std::vector<Fd> queued;
    Result<Fd> last = fail("not tried");
    // Nobody accepts: the queue fills after a few connections (the kernel
    // allows backlog + 1), and the next one must fail instead of blocking.
    for (int i = 0; i < 64; ++i) {
        last = connect_unix_nowait(tmp / "s");
        if (!last) break;
        queued.push_back(std::move(*last));
    }
    REQUIRE(!last);
    CHECK_THAT(last.error().text, Catch::Contains(tmp / "s") && Catch::Contains("temporarily unavailable"));
    CHECK(!queued.empty());
    // Room again once one is taken.
    Fd taken(::accept(listener->get(), nullptr, nullptr));
    REQUIRE(taken);
    CHECK(connect_unix_nowait(tmp / "s"));
}

TEST_CASE("connect_unix_nowait: no listener is an error naming the socket", "[socket]") {
    kt::TempDir tmp;
    auto r = connect_unix_nowait(tmp / "absent");
    REQUIRE(!r);
    CHECK_THAT(r.error().text, Catch::Contains(tmp / "absent"));
}

TEST_CASE("listen_inet: a port may be a service name from /etc/services", "[socket]") {
    // master.cf's "submission" and "smtps" services. Binding 465 may be
    // refused (not root) or taken; the name itself must resolve.
    for (std::string addr : {"127.0.0.1:smtps", "127.0.0.1:submission"}) {
        INFO(addr);
        auto fd = listen_inet(addr, 1);
        if (!fd) CHECK_THAT(fd.error().text, Catch::StartsWith("bind " + addr));
    }
    auto bad = listen_inet("127.0.0.1:no-such-service", 1);
    REQUIRE(!bad);
    CHECK_THAT(bad.error().text, Catch::StartsWith("listen 127.0.0.1:no-such-service: "));
}
