// A qmgr that a reload retired (its context draining) takes no new mail into
// active/: the qmgr that replaces it, started once it has exited, would log
// the message a second time ("queue active") on recovering active/.
#include "qmgr/qmgr.hpp"

#include "../test_util.hpp"
#include "util/fs.hpp"

#include <catch2/catch.hpp>
#include <event2/event.h>
#include <sys/stat.h>
#include <utime.h>

#include <ctime>

using namespace kurir;
namespace kt = kurir::test;

TEST_CASE("a draining qmgr leaves incoming and deferred mail where it is; postqueue -i makes it due", "[qmgr_drain]") {
    kt::TempDir dir;
    kt::CapturedLog log;
    server::ServerContext ctx;
    ctx.program = "qmgr";
    ctx.config = *mail::Config::from_text("myhostname = mx.test\nqueue_directory = " + dir.path() + "/queue\n",
                                          dir.path());
    ctx.queue = mail::QueueDir(dir.path() + "/queue");
    REQUIRE(ctx.queue.create_layout(std::nullopt));
    ctx.base = event_base_new();
    std::string fresh = mail::new_queue_id(), due = mail::new_queue_id();
    REQUIRE(util::create_file_durable(ctx.queue.dir(mail::Queue::incoming), fresh, {"not read"}, 0600));
    REQUIRE(util::create_file_durable(ctx.queue.dir(mail::Queue::deferred), due, {"not read"}, 0600));
    std::string later = mail::new_queue_id();  // not due for an hour
    REQUIRE(util::create_file_durable(ctx.queue.dir(mail::Queue::deferred), later, {"not read"}, 0600));
    struct utimbuf hour_ahead {std::time(nullptr) + 3600, std::time(nullptr) + 3600};
    REQUIRE(::utime(ctx.queue.path(mail::Queue::deferred, later).c_str(), &hour_ahead) == 0);
    {
        qmgr::Manager manager(ctx);
        ctx.draining = true;
        manager.scan_incoming();
        manager.scan_deferred(false);
        manager.scan_deferred(true);
        manager.deliver_now(later);  // postqueue -i
    }
    CHECK(ctx.queue.find(fresh) == mail::Queue::incoming);
    CHECK(ctx.queue.find(due) == mail::Queue::deferred);
    CHECK(ctx.queue.find(later) == mail::Queue::deferred);
    struct stat st {};
    REQUIRE(::stat(ctx.queue.path(mail::Queue::deferred, later).c_str(), &st) == 0);
    CHECK(st.st_mtime <= std::time(nullptr));  // due for the next qmgr
    CHECK(log.text().find("queue active") == std::string::npos);
    event_base_free(ctx.base);
}
