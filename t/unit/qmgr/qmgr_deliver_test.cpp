// qmgr's side of a delivery, with a real Manager on a real loop and stand-in
// services on private/rewrite and private/local: a delivery-result frame
// with a missing or an extra field is refused, logged by name, and the
// recipient is deferred, never taken as delivered.
#include "qmgr/qmgr.hpp"

#include "../socket_stand_in.hpp"
#include "../test_util.hpp"
#include "cleanup/cleanup_message.hpp"
#include "mail/mail_proto.hpp"
#include "trivial-rewrite/trivial_rewrite_service.hpp"
#include "util/attr.hpp"
#include "util/socket.hpp"

#include <catch2/catch.hpp>
#include <event2/event.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

using namespace kurir;
using namespace kurir::mail::proto;
namespace kt = kurir::test;

namespace {

using StandIn = kt::SocketStandIn;  // every connection to a Unix socket answered in a thread

void run_case(const std::function<util::Attrs(const DeliveryRequest&)>& reply, const std::string& logged) {
    kt::TempDir dir;
    kt::CapturedLog log;
    server::ServerContext ctx;
    ctx.program = "qmgr";
    ctx.config = *mail::Config::from_text("myhostname = mx.test\nmydestination = mx.test\nqueue_directory = " +
                                              dir.path() + "/queue\n",
                                          dir.path());
    ctx.queue = mail::QueueDir(dir.path() + "/queue");
    REQUIRE(ctx.queue.create_layout(std::nullopt));
    ctx.base = event_base_new();

    trivial_rewrite::Tables maps;
    StandIn rewrite(ctx.queue.private_socket("rewrite"), [&](int fd) {
        while (auto frame = util::attr_read(fd)) {
            auto answer = trivial_rewrite::answer(ctx.config, maps, *frame);
            if (!answer || !util::attr_write(fd, *answer)) return;
        }
    });
    std::atomic<int> asked{0};
    StandIn local(ctx.queue.private_socket("local"), [&](int fd) {
        // (no assertions here: Catch2 takes them from the test's thread only)
        auto frame = util::attr_read(fd);
        if (!frame) return;
        auto req = decode_delivery_request(*frame);
        if (!req || req->recipients.empty()) return;
        ++asked;
        (void)util::attr_write(fd, reply(*req));
    });

    std::string id = mail::new_queue_id();
    std::string stream = mail::compose_cleanup_stream({"origin=local"}, "s@client.test", {"alice@mx.test"},
                                                      "Subject: x\n\nbody\n");
    auto built = cleanup::build_queue_file(ctx.config, {id, 1700000000, 0, stream},
                                           [](std::string_view a) { return util::Result<std::string>(a); });
    REQUIRE(built);
    REQUIRE(util::create_file_durable(ctx.queue.dir(mail::Queue::incoming), id, {built->file}, 0600));

    {
        qmgr::Manager manager(ctx);
        manager.start();
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (ctx.queue.find(id) != mail::Queue::deferred) {
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            struct timeval tick {0, 20000};
            event_base_loopexit(ctx.base, &tick);
            event_base_dispatch(ctx.base);
        }
        CHECK(asked == 1);
    }
    std::string text = log.text();
    CHECK(text.find("warning: " + id + ": reply from local: " + logged) != std::string::npos);
    CHECK(text.find("status=sent") == std::string::npos);
    CHECK(text.find("status=deferred (malformed reply from delivery agent)") != std::string::npos);
    event_base_free(ctx.base);
}

}  // namespace

TEST_CASE("qmgr refuses a delivery result with a missing field and defers", "[qmgr_deliver]") {
    run_case(
        [](const DeliveryRequest& req) {
            DeliveryResult ok{false, {{req.recipients[0].offset, "2.0.0", "delivered to maildir", "", "", ""}}};
            util::Attrs full = encode(ok);
            util::Attrs missing;
            for (const auto& [name, value] : full.items())
                if (name != "text") missing.add(name, value);
            return missing;
        },
        "delivery-result: field diag where text was expected");
}

TEST_CASE("qmgr refuses a delivery result with an extra field and defers", "[qmgr_deliver]") {
    run_case(
        [](const DeliveryRequest& req) {
            util::Attrs extra = encode(DeliveryResult{false, {{req.recipients[0].offset, "2.0.0", "delivered", "", "", ""}}});
            extra.add("note", "and one more thing");
            return extra;
        },
        "delivery-result: field note where offset was expected");
}
