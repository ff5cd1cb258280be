// What an idle, greeted session costs smtpd's heap: one smtpd process holds
// up to a thousand of them (smtpd.cpp), and memory per idle session is what
// the bench's idle scenario measures (issue 18: it may not regress).
#include "smtpd_fixture.hpp"

#include <malloc.h>

#include <cerrno>
#include <cstring>

using namespace kurir;

TEST_CASE("smtpd: an idle greeted session holds under 2.5 KB of heap", "[smtpd][memory]") {
#if defined(__SANITIZE_ADDRESS__)
    WARN("ASan's allocator keeps its own books: measured in the plain build only");
    return;
#else
    test::SmtpdFixture f("");
    std::vector<util::Fd> clients;
    int open = 0;
    // No Catch assertion in what is measured: a reporter that keeps every
    // assertion it saw (JUnit's) would count in the heap.
    auto start = [&] {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) FAIL("socketpair: " << std::strerror(errno));
        ::fcntl(sv[1], F_SETFL, O_NONBLOCK);
        clients.emplace_back(sv[0]);
        ++open;
        smtpd::Session::start(f.ctx, f.policy, util::Fd(sv[1]), [&open] { --open; });
        event_base_loop(f.ctx.base, EVLOOP_NONBLOCK);
    };
    // The first sessions grow what every later one shares (libevent's
    // tables, the log's buffers).
    for (int i = 0; i < 8; ++i) start();
    constexpr int kSessions = 256;
    const size_t before = mallinfo2().uordblks;
    for (int i = 0; i < kSessions; ++i) start();
    const size_t after = mallinfo2().uordblks;
    const size_t per_session = (after - before) / kSessions;
    INFO("heap per idle session: " << per_session << " bytes");
    CHECK(per_session < 2560);  // 2,453 bytes at ca93fd5 (2.7 KB before)
    char greeting[64];
    REQUIRE(::read(clients.back().get(), greeting, sizeof greeting) > 0);
    CHECK(std::string_view(greeting, 4) == "220 ");
    clients.clear();  // every session sees its client leave and ends
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (open > 0 && std::chrono::steady_clock::now() < deadline) event_base_loop(f.ctx.base, EVLOOP_ONCE);
    CHECK(open == 0);
#endif
}
