// An agent's reading of a delivery request: the queue file named in it is
// read only when it is a regular file (local reads it as root, in active/,
// which mail_owner writes).
#include "server/delivery_job.hpp"

#include "../../test_util.hpp"
#include "mail/mail_proto.hpp"
#include "util/attr.hpp"

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kurir;
namespace kt = kurir::test;

// Found by review: the file was read by name with no check, so a FIFO in
// its place held local (root) for ever, and a link to a device or to a
// file of root's was read as root.
TEST_CASE("read_delivery_job: a queue file that is a FIFO or a symbolic link is deferred, not read", "[delivery_job]") {
    kt::TempDir dir;
    server::ServerContext ctx;
    ctx.program = "local";
    ctx.config = *mail::Config::from_text("queue_directory = " + dir.path() + "/queue\nipc_timeout = 5s\n", dir.path());
    ctx.queue = mail::QueueDir(dir.path() + "/queue");
    REQUIRE(ctx.queue.create_layout(std::nullopt));
    auto kind = GENERATE(as<std::string>{}, "fifo", "symlink");
    const std::string id = "4jXv000000BDDQ7";
    std::string path = ctx.queue.path(mail::Queue::active, id);
    if (kind == "fifo")
        REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    else
        REQUIRE(::symlink("/dev/zero", path.c_str()) == 0);
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    mail::proto::DeliveryRequest req;
    req.queue_id = id;
    req.sender = "s@x";
    req.recipients = {{42, "r@y"}};
    REQUIRE(util::attr_write(pair[1], mail::proto::encode(req)));
    auto read = server::read_delivery_job(ctx, pair[0], "local");
    CHECK_FALSE(read.job);
    auto answer = util::attr_read(pair[1]);
    REQUIRE(answer);
    auto result = mail::proto::decode_delivery_result(*answer);
    REQUIRE(result);
    REQUIRE(result->recipients.size() == 1);
    CHECK(result->recipients[0].dsn == "4.3.0");
    CHECK(result->recipients[0].text.find("not a regular file") != std::string::npos);
    ::close(pair[0]);
    ::close(pair[1]);
}
