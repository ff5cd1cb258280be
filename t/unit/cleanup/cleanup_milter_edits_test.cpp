#include "cleanup/cleanup_milter_edits.hpp"

#include "mail/queue_file.hpp"
#include "mail/record.hpp"

#include <catch2/catch.hpp>

using namespace kurir;
using namespace kurir::mail;

namespace {

std::string queue_file() {
    std::string f;
    rec_append(f, rec::version, "1");
    rec_append(f, rec::time, "1700000000 0");
    rec_append(f, rec::size, "000000000000");
    rec_append(f, rec::sender, "s@a.test");
    rec_append(f, rec::rcpt, "alice@mx.test");
    rec_append(f, rec::orig_rcpt, "Bob@mx.test");
    rec_append(f, rec::rcpt, "bob@mx.test");
    rec_append(f, rec::message, "");
    for (const char* l : {"Received: by mx", "From: s@a.test", "Subject: hi", "X-Old: 1", "X-Old: 2", "", "body"})
        rec_append_line(f, l);
    rec_append(f, rec::content_end, "");
    rec_append(f, rec::prepend, "DKIM-Signature: x");
    rec_append(f, rec::end, "");
    return f;
}

std::vector<std::string> content(std::string_view file) {
    auto env = parse_queue_file(file);
    REQUIRE(env);
    std::vector<std::string> out;
    REQUIRE(for_each_content_line(file, *env, [&](std::string_view l) { out.emplace_back(l); }));
    return out;
}

}  // namespace

TEST_CASE("milter edits on a queue file: headers by the client's index, body, envelope", "[milter][cleanup]") {
    std::vector<MilterEdit> edits{{'i', 1, "X-New", "n"},     {'m', 2, "x-old", "two"}, {'m', 1, "Subject", ""},
                                  {'m', 9, "Nope", "x"},      {'b', 0, "new\r\nbo", ""}, {'b', 0, "dy\r\n", ""},
                                  {'+', 0, "<carol@mx.test>", "NOTIFY=NEVER"}, {'-', 0, "<BOB@mx.test>", ""},
                                  {'e', 0, "<new@a.test>", ""}};
    auto edited = cleanup::edit_queue_file(queue_file(), edits, true, 4096);
    REQUIRE(edited);
    CHECK(edited->recipients == 2);
    CHECK_FALSE(edited->quarantine);
    auto env = parse_queue_file(edited->bytes);
    INFO((env ? "" : env.error().text));
    REQUIRE(env);
    CHECK(env->sender == "new@a.test");
    REQUIRE(env->recipients.size() == 2);
    CHECK(env->recipients[0].address == "alice@mx.test");
    CHECK(env->recipients[1].address == "carol@mx.test");
    CHECK(env->recipients[1].notify != 0);
    CHECK(content(edited->bytes) == std::vector<std::string>{"DKIM-Signature: x", "Received: by mx", "From: s@a.test",
                                                             "X-New: n", "X-Old: 1", "X-Old: two", "", "new",
                                                             "body"});
    // the size changes by what the content's lines did (the fixture's was 0)
    auto bytes = [](const std::vector<std::string>& lines) {
        long n = 0;
        for (const auto& l : lines) n += static_cast<long>(l.size()) + 1;
        return n;
    };
    CHECK(env->content_size == bytes(content(edited->bytes)) - bytes(content(queue_file())));
}

TEST_CASE("milter edits: quarantine is reported, no edit leaves the file as it was", "[milter][cleanup]") {
    auto held = cleanup::edit_queue_file(queue_file(), {{'q', 0, "why", ""}}, true, 4096);
    REQUIRE(held);
    CHECK(held->quarantine);
    CHECK(held->reason == "why");
    CHECK(held->bytes == queue_file());
    CHECK_FALSE(cleanup::edit_queue_file("garbage", {}, true, 4096));
}

TEST_CASE("milter edits: a replaced body keeps no stray CR and no NUL", "[milter][cleanup]") {
    std::vector<MilterEdit> edits{{'b', 0, std::string("a\r.\rMAIL FROM:<x@evil.test>\0\r\nend\r\n", 35), ""}};
    auto edited = cleanup::edit_queue_file(queue_file(), edits, true, 4096);
    REQUIRE(edited);
    auto lines = content(edited->bytes);
    REQUIRE(lines.size() >= 2);
    CHECK(lines[lines.size() - 2] == "a . MAIL FROM:<x@evil.test>");
    CHECK(lines.back() == "end");
}
