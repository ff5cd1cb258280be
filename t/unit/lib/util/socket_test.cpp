#include "util/socket.hpp"

#include "../../test_util.hpp"

#include <catch2/catch.hpp>

#include <netinet/in.h>
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

TEST_CASE("listen_inet: an IPv6 listener is IPv6-only, so :: and 0.0.0.0 share a port", "[socket]") {
    auto v6 = listen_inet("[::]:0", 1);
    if (!v6) {
        WARN("not tested: no IPv6 here (" + v6.error().text + ")");
        return;
    }
    int only = 0;
    socklen_t len = sizeof only;
    REQUIRE(::getsockopt(v6->get(), IPPROTO_IPV6, IPV6_V6ONLY, &only, &len) == 0);
    CHECK(only == 1);
    sockaddr_in6 sin6{};
    len = sizeof sin6;
    REQUIRE(::getsockname(v6->get(), reinterpret_cast<sockaddr*>(&sin6), &len) == 0);
    std::string port = std::to_string(ntohs(sin6.sin6_port));
    auto v4 = listen_inet("0.0.0.0:" + port, 1);
    CHECK(v4);
}

TEST_CASE("host_addresses: a name's numeric addresses; an unknown one is an error naming it", "[socket]") {
    auto lo = host_addresses("127.0.0.1");
    REQUIRE(lo);
    CHECK(*lo == std::vector<std::string>{"127.0.0.1"});
    auto bad = host_addresses("no-such-host.invalid");
    REQUIRE(!bad);
    CHECK_THAT(bad.error().text, Catch::StartsWith("no-such-host.invalid: "));
}
