// cleanup's service over a socket pair: it names the queue id in a
// cleanup-hello frame, and refuses a malformed record stream with a
// cleanup-reply of status 4, logged, writing nothing to the queue, and
// does not take the connection's next bytes as another message.
#include "cleanup/cleanup_service.hpp"

#include "../test_util.hpp"
#include "mail/mail_proto.hpp"
#include "util/attr.hpp"

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kurir;
namespace kt = kurir::test;

TEST_CASE("cleanup refuses a malformed record stream, logs it, queues nothing", "[cleanup_service]") {
    kt::TempDir dir;
    kt::CapturedLog log;
    ::mkdir((dir / "queue").c_str(), 0700);
    ::mkdir((dir / "queue/incoming").c_str(), 0700);
    server::ServerContext ctx;
    ctx.program = "cleanup";
    ctx.config = *mail::Config::from_text("myhostname = mx.test\nqueue_directory = " + dir.path() + "/queue\n", dir.path());
    ctx.queue = mail::QueueDir(dir.path() + "/queue");
    mail::RewriteClient rewrite(ctx.queue);
    mail::KeptTrigger qmgr(ctx.queue, mail::service::qmgr);
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    util::Fd ours(sv[0]);
    std::string garbage = "\x7f\xff\xff\xff\xff not a record";
    REQUIRE(::write(ours.get(), garbage.data(), garbage.size()) == static_cast<ssize_t>(garbage.size()));
    util::Fd theirs(sv[1]);
    // The rest of a refused stream is not read: the connection closes.
    CHECK_FALSE(cleanup::serve(ctx, theirs.get(), rewrite, qmgr));

    auto hello = util::attr_read(ours.get());
    REQUIRE(hello);
    auto h = mail::proto::decode_cleanup_hello(*hello);
    REQUIRE(h);
    CHECK(mail::valid_queue_id(h->queue_id));
    auto reply = util::attr_read(ours.get());
    REQUIRE(reply);
    auto r = mail::proto::decode_cleanup_reply(*reply);
    REQUIRE(r);
    CHECK(r->status == '4');
    CHECK(r->dsn == "4.3.0");
    CHECK(r->reason == "malformed record stream");
    CHECK(log.text().find("warning: " + h->queue_id + ": malformed record stream") != std::string::npos);
    CHECK(kt::dir_entries(dir / "queue/incoming").empty());
}
