// local's service with in-memory frames over a socket pair: a request that
// is not well-formed is refused, logged and unanswered; a well-formed one
// for a message that is not there gets a result per recipient.
#include "local/local_service.hpp"

#include "../test_util.hpp"
#include "mail/mail_proto.hpp"
#include "util/attr.hpp"

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kurir;
using namespace kurir::mail::proto;
namespace kt = kurir::test;

namespace {

struct Fixture {
    kt::TempDir dir;
    kt::CapturedLog log;
    server::ServerContext ctx;
    mail::WatchedMaps aliases{"alias_maps"};

    Fixture() {
        ::mkdir((dir / "queue").c_str(), 0700);
        ::mkdir((dir / "queue/active").c_str(), 0700);
        ctx.program = "local";
        ctx.config = *mail::Config::from_text("myhostname = mx.test\nqueue_directory = " + dir.path() +
                                                  "/queue\nalias_maps =\n", dir.path());
        ctx.queue = mail::QueueDir(dir.path() + "/queue");
    }

    // Sends one frame to local's service; returns what it answered (empty:
    // nothing, the connection closed).
    std::string ask(const util::Attrs& frame) {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        util::Fd ours(sv[0]);
        REQUIRE(util::attr_write(ours.get(), frame));
        {
            util::Fd theirs(sv[1]);
            local::serve(ctx, theirs.get(), aliases);  // returns when done; its end is closed
        }
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(ours.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
        return out;
    }
};

util::Attrs request() {
    return encode(DeliveryRequest{"4jhx8r6SLH89sxY", "s@client.test", "mx.test", 1796540764000000, {{120, "alice@mx.test"}}});
}

}  // namespace

TEST_CASE("local refuses a request with a missing field, logs it, answers nothing", "[local_service]") {
    Fixture f;
    util::Attrs full = request();
    util::Attrs missing;
    for (const auto& [name, value] : full.items())
        if (name != "sender") missing.add(name, value);
    CHECK(f.ask(missing).empty());
    CHECK(f.log.text().find("warning: local: refused request: delivery-request: field nexthop where sender was expected") !=
          std::string::npos);
}

TEST_CASE("local refuses a request with an extra field, logs it, answers nothing", "[local_service]") {
    Fixture f;
    util::Attrs extra = request();
    extra.add("command", "/bin/sh");
    CHECK(f.ask(extra).empty());
    CHECK(f.log.text().find("warning: local: refused request: delivery-request: field command where offset was expected") !=
          std::string::npos);
}

TEST_CASE("local answers a well-formed request for a vanished message with a result per recipient", "[local_service]") {
    Fixture f;
    std::string answer = f.ask(request());
    auto frame = util::attr_decode(answer);
    REQUIRE(frame);
    REQUIRE(*frame);
    CHECK((*frame)->consumed == answer.size());
    auto result = decode_delivery_result((*frame)->attrs);
    REQUIRE(result);
    REQUIRE(result->recipients.size() == 1);
    CHECK(result->recipients[0].offset == 120);
    CHECK(result->recipients[0].dsn == "4.3.0");
    CHECK_FALSE(result->site_dead);
}
