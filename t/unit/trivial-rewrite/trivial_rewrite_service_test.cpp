// trivial-rewrite's service with in-memory frames, and as its connection
// serves them: a malformed request is refused, logged, and not answered.
#include "trivial-rewrite/trivial_rewrite_service.hpp"

#include "../test_util.hpp"
#include "mail/mail_proto.hpp"
#include "server/attr_server.hpp"

#include <catch2/catch.hpp>
#include <event2/event.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace kurir;
using namespace kurir::mail::proto;
namespace kt = kurir::test;

namespace {
mail::Config config() {
    return *mail::Config::from_text("myhostname = mx.test\nmydomain = test\nmyorigin = test\n"
                                    "mydestination = mx.test, localhost\nrelayhost = [127.0.0.1]:2526\n",
                                    "/tmp/none");
}
}  // namespace

TEST_CASE("trivial-rewrite answers rewrite and resolve frames", "[trivial_rewrite]") {
    auto cfg = config();
    trivial_rewrite::Tables maps;
    auto rewritten = trivial_rewrite::answer(cfg, maps, encode(RewriteRequest{RewriteRequest::Kind::rewrite, "u", ""}));
    REQUIRE(rewritten);
    CHECK(decode_rewrite_reply(*rewritten).value().address == "u@test");
    auto local = trivial_rewrite::answer(cfg, maps, encode(RewriteRequest{RewriteRequest::Kind::resolve, "u@mx.test", ""}));
    REQUIRE(local);
    CHECK(decode_resolve_reply(*local).value().transport == "local");
    auto remote = trivial_rewrite::answer(cfg, maps, encode(RewriteRequest{RewriteRequest::Kind::resolve, "u@far.example", ""}));
    REQUIRE(remote);
    auto r = decode_resolve_reply(*remote).value();
    CHECK(r.transport == "smtp");
    CHECK(r.nexthop == "[127.0.0.1]:2526");
}

TEST_CASE("trivial-rewrite refuses a frame with a missing or extra field", "[trivial_rewrite]") {
    auto cfg = config();
    trivial_rewrite::Tables maps;
    util::Attrs missing{{"protocol", "rewrite-request/1"}, {"request", "resolve"}};
    auto m = trivial_rewrite::answer(cfg, maps, missing);
    REQUIRE_FALSE(m);
    CHECK(m.error().text == "rewrite-request: missing field address");
    util::Attrs extra = encode(RewriteRequest{RewriteRequest::Kind::resolve, "u@mx.test", ""});
    extra.add("transport", "pipe");
    auto e = trivial_rewrite::answer(cfg, maps, extra);
    REQUIRE_FALSE(e);
    CHECK(e.error().text == "rewrite-request: extra field transport");
}

TEST_CASE("trivial-rewrite's connection logs a refused frame and closes unanswered", "[trivial_rewrite]") {
    kt::CapturedLog log;
    server::ServerContext ctx;
    ctx.config = config();
    ctx.base = event_base_new();
    trivial_rewrite::Tables maps;
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    util::Fd ours(sv[0]);
    bool done = false;
    server::serve_attr_connection(ctx, util::Fd(sv[1]), [&] { done = true; }, [&](const util::Attrs& frame) {
        return trivial_rewrite::answer(ctx.config, maps, frame);
    });
    REQUIRE(util::attr_write(ours.get(), {{"protocol", "rewrite-request/1"}, {"request", "resolve"}}));
    while (!done) REQUIRE(event_base_loop(ctx.base, EVLOOP_ONCE) == 0);
    char byte;
    CHECK(::read(ours.get(), &byte, 1) == 0);  // closed, nothing said
    CHECK(log.text().find("warning: refused request: rewrite-request: missing field address") != std::string::npos);
    event_base_free(ctx.base);
}
