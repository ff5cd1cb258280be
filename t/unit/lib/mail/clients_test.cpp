#include "mail/clients.hpp"

#include "../../test_util.hpp"
#include "mail/mail_proto.hpp"
#include "util/attr.hpp"
#include "util/socket.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

using namespace kurir;
namespace kt = kurir::test;

namespace {
// Stands in for trivial-rewrite on private/rewrite: answers every question,
// one connection after another, and counts them. "broken@x" gets an error
// answer.
class CountingRewrite {
public:
    explicit CountingRewrite(const kt::TempDir& dir) {
        ::mkdir((dir / "private").c_str(), 0700);
        auto fd = util::listen_unix(dir / "private/rewrite", 0600);
        REQUIRE(fd);
        listen_ = std::move(*fd);
        thread_ = std::thread([this] { serve(); });
    }
    ~CountingRewrite() {
        ::shutdown(listen_.get(), SHUT_RDWR);
        thread_.join();
    }
    int questions() const { return questions_; }

private:
    void serve() {
        for (;;) {
            int c = ::accept(listen_.get(), nullptr, nullptr);
            if (c < 0) return;
            answer(util::Fd(c));
        }
    }
    void answer(util::Fd conn) {
        using namespace mail::proto;
        while (auto frame = util::attr_read(conn.get())) {
            ++questions_;
            auto req = decode_rewrite_request(*frame);
            REQUIRE(req);
            util::Attrs reply;
            if (req->address == "broken@x")
                reply = encode(ResolveReply{"table lookup failed", "", "", "", ""});
            else if (req->address == "garbled@x")
                reply = {{"transport", "local"}};  // no protocol, no other fields
            else if (req->kind == RewriteRequest::Kind::rewrite)
                reply = encode(RewriteReply{req->address + ".rewritten"});
            else
                reply = encode(ResolveReply{"", "local", "x", req->address, ""});
            if (!util::attr_write(conn.get(), reply)) return;
        }
    }
    util::Fd listen_;
    std::thread thread_;
    std::atomic<int> questions_{0};
};
}  // namespace

TEST_CASE("RewriteClient: an answer is remembered, per question and address", "[clients]") {
    kt::TempDir dir;
    CountingRewrite server(dir);
    mail::RewriteClient client{mail::QueueDir(dir.path())};
    CHECK(client.rewrite("a@x").value() == "a@x.rewritten");
    CHECK(client.rewrite("a@x").value() == "a@x.rewritten");
    CHECK(client.asked() == 1);
    CHECK(client.resolve("a@x").value().transport == "local");  // another question
    CHECK(client.resolve("a@x").value().recipient == "a@x");
    CHECK(client.rewrite("b@x").value() == "b@x.rewritten");  // another address
    CHECK(client.asked() == 3);
    CHECK(server.questions() == 3);
}

TEST_CASE("RewriteClient: errors are asked again, and answers expire", "[clients]") {
    kt::TempDir dir;
    CountingRewrite server(dir);
    {
        mail::RewriteClient forgetting{mail::QueueDir(dir.path()), std::chrono::milliseconds(0)};
        CHECK(!forgetting.resolve("broken@x"));
        CHECK(!forgetting.resolve("broken@x"));
        CHECK(forgetting.rewrite("a@x").value() == "a@x.rewritten");
        CHECK(forgetting.rewrite("a@x").value() == "a@x.rewritten");
        CHECK(forgetting.asked() == 4);
    }
    mail::RewriteClient remembering{mail::QueueDir(dir.path())};
    auto error = remembering.resolve("broken@x");
    REQUIRE(!error);
    CHECK_THAT(error.error().text, Catch::Contains("table lookup failed"));
    CHECK(!remembering.resolve("broken@x"));
    CHECK(remembering.asked() == 2);
    CHECK(server.questions() == 6);
}

TEST_CASE("send_trigger: the code reaches a listening service; a full queue is skipped", "[clients]") {
    kt::TempDir dir;
    ::mkdir((dir / "public").c_str(), 0700);
    auto listener = util::listen_unix(dir / "public/qmgr", 0600, 1);
    REQUIRE(listener);
    mail::QueueDir queue(dir.path());
    mail::send_trigger(queue, mail::service::qmgr, mail::proto::Trigger::Kind::flush);
    util::Fd first(::accept(listener->get(), nullptr, nullptr));
    REQUIRE(first);
    auto got = util::attr_read(first.get());
    REQUIRE(got);
    auto trigger = mail::proto::decode_trigger(*got);
    REQUIRE(trigger);
    CHECK(trigger->kind == mail::proto::Trigger::Kind::flush);
    // Nobody accepts now: a wake-up is a hint, and one that finds the queue
    // full returns instead of waiting (cleanup must not sit there busy).
    // 64 of them overfill the queue; one that waited even a second per call
    // would still be at it when the (deadlock-sized) bound below runs out.
    auto all_sent = std::async(std::launch::async, [&] {
        for (int i = 0; i < 64; ++i) mail::send_trigger(queue, mail::service::qmgr, mail::proto::Trigger::Kind::wakeup);
    });
    REQUIRE(all_sent.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    auto more = util::connect_unix_nowait(dir / "public/qmgr");
    CHECK(!more);
}

TEST_CASE("RewriteClient: a malformed answer is an error naming what is wrong, never remembered", "[clients]") {
    kt::TempDir dir;
    CountingRewrite server(dir);
    mail::RewriteClient client{mail::QueueDir(dir.path())};
    auto r = client.resolve("garbled@x");
    REQUIRE(!r);
    CHECK_THAT(r.error().text, Catch::Contains("resolve-reply: no protocol field"));
    CHECK(!client.rewrite("garbled@x"));
    CHECK(!client.resolve("garbled@x"));
    CHECK(client.asked() == 3);
}

TEST_CASE("CleanupConversation: cleanup's hello, then its reply, then nothing", "[clients]") {
    using namespace mail::proto;
    mail::CleanupConversation c;
    CHECK_FALSE(c.greeted());
    SECTION("in order") {
        REQUIRE(c.take(encode(CleanupHello{"4Q1abcXyz"})));
        CHECK(c.greeted());
        CHECK(c.queue_id() == "4Q1abcXyz");
        CHECK_FALSE(c.reply());
        REQUIRE(c.take(encode(CleanupReply{'5', "4Q1abcXyz", "5.3.4", "message too big"})));
        REQUIRE(c.reply());
        CHECK(c.reply()->dsn == "5.3.4");
        CHECK_THAT(c.take(encode(CleanupReply{'0', "4Q1abcXyz", "", ""})).error().text,
                   Catch::Contains("after its reply"));
    }
    SECTION("a reply where the hello belongs is an error naming the field") {
        auto r = c.take(encode(CleanupReply{'0', "4Q1abcXyz", "", ""}));
        REQUIRE_FALSE(r);
        CHECK_FALSE(c.greeted());
    }
    SECTION("a hello where the reply belongs") {
        REQUIRE(c.take(encode(CleanupHello{"4Q1abcXyz"})));
        CHECK_FALSE(c.take(encode(CleanupHello{"4Q1abcXyz"})));
        CHECK_FALSE(c.reply());
    }
}
