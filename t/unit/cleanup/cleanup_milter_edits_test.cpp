#include "cleanup/cleanup_milter_edits.hpp"

#include "mail/queue_file.hpp"
#include "mail/record.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

using namespace kurir;
using namespace kurir::mail;

namespace {

// A queue file whose content is lines, each cut into records of at most
// max_piece bytes.
std::string queue_file(const std::vector<std::string>& lines, size_t max_piece = 4096) {
    std::string f;
    rec_append(f, rec::version, "1");
    rec_append(f, rec::time, "1700000000 0");
    long size = 0;
    for (const auto& l : lines) size += static_cast<long>(l.size()) + 1;
    rec_append(f, rec::size, fmt::format("{:012}", size));
    rec_append(f, rec::sender, "s@a.test");
    rec_append(f, rec::rcpt, "alice@mx.test");
    rec_append(f, rec::orig_rcpt, "Bob@mx.test");
    rec_append(f, rec::rcpt, "bob@mx.test");
    rec_append(f, rec::message, "");
    for (const auto& l : lines) rec_append_line(f, l, max_piece);
    rec_append(f, rec::content_end, "");
    rec_append(f, rec::prepend, "DKIM-Signature: x");
    rec_append(f, rec::end, "");
    return f;
}

std::string queue_file() {
    return queue_file({"Received: by mx", "From: s@a.test", "Subject: hi", "X-Old: 1", "X-Old: 2", "", "body"});
}

std::vector<std::string> content(std::string_view file) {
    auto env = parse_queue_file(file);
    REQUIRE(env);
    std::vector<std::string> out;
    REQUIRE(for_each_content_line(file, *env, [&](std::string_view l) { out.emplace_back(l); }));
    return out;
}

}  // namespace

TEST_CASE("milter edits on a queue file: headers where Postfix puts them, body, envelope", "[milter][cleanup]") {
    std::vector<MilterEdit> edits{{'i', 1, "X-New", "n"},     {'m', 2, "x-old", "two"}, {'m', 1, "Subject", ""},
                                  {'m', 9, "Nope", "x"},      {'b', 0, "new\r\nbo", ""}, {'b', 0, "dy\r\n", ""},
                                  {'+', 0, "<carol@mx.test>", "NOTIFY=NEVER"}, {'-', 0, "<BOB@mx.test>", ""},
                                  {'e', 0, "<new@a.test>", ""}};
    auto edited = cleanup::edit_queue_file(queue_file(), edits, 4096);
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
    CHECK(content(edited->bytes) == std::vector<std::string>{"DKIM-Signature: x", "Received: by mx", "X-New: n",
                                                             "From: s@a.test", "X-Old: 1", "x-old: two", "Nope: x",
                                                             "", "new", "body"});
    // the size changes by what the content's lines did
    auto bytes = [](const std::vector<std::string>& lines) {
        long n = 0;
        for (const auto& l : lines) n += static_cast<long>(l.size()) + 1;
        return n;
    };
    auto old_env = parse_queue_file(queue_file());
    REQUIRE(old_env);
    CHECK(env->content_size - old_env->content_size ==
          bytes(content(edited->bytes)) - bytes(content(queue_file())));
}

TEST_CASE("milter edits: quarantine is reported, no edit leaves the file as it was", "[milter][cleanup]") {
    auto held = cleanup::edit_queue_file(queue_file(), {{'q', 0, "why", ""}}, 4096);
    REQUIRE(held);
    CHECK(held->quarantine);
    CHECK(held->reason == "why");
    CHECK(held->bytes == queue_file());
    CHECK_FALSE(cleanup::edit_queue_file("garbage", {}, 4096));
}

TEST_CASE("milter edits: a replaced body keeps no stray CR and no NUL", "[milter][cleanup]") {
    std::vector<MilterEdit> edits{{'b', 0, std::string("a\r.\rMAIL FROM:<x@evil.test>\0\r\nend\r\n", 35), ""}};
    auto edited = cleanup::edit_queue_file(queue_file(), edits, 4096);
    REQUIRE(edited);
    auto lines = content(edited->bytes);
    REQUIRE(lines.size() >= 2);
    CHECK(lines[lines.size() - 2] == "a . MAIL FROM:<x@evil.test>");
    CHECK(lines.back() == "end");
}

TEST_CASE("milter header edits: Postfix's positions around cleanup's own Received:", "[milter][cleanup]") {
    auto file = queue_file({"Received: by mx (ours)", "Received: from client", "X-A: 1", "X-A: 2", "", "body"});
    auto headers = [](const std::string& edited) {
        auto lines = content(edited);
        lines.resize(static_cast<size_t>(std::find(lines.begin(), lines.end(), "") - lines.begin()));
        return lines;
    };
    struct Case {
        std::vector<MilterEdit> edits;
        std::vector<std::string> want;
    };
    for (const auto& [edits, want] : std::vector<Case>{
             // an insert at 1 goes below our Received:, at 0 above it, past the end after the last field
             {{{'i', 1, "X-One", "o"}, {'i', 0, "X-Top", "t"}, {'i', 99, "X-End", "e"}},
              {"DKIM-Signature: x", "X-Top: t", "Received: by mx (ours)", "X-One: o", "Received: from client",
               "X-A: 1", "X-A: 2", "X-End: e"}},
             // an append follows the last field, and an earlier append
             {{{'h', 0, "X-Add", "1"}, {'h', 0, "X-Add", "2"}, {'i', 2, "X-Mid", "m"}},
              {"DKIM-Signature: x", "Received: by mx (ours)", "Received: from client", "X-Mid: m", "X-A: 1", "X-A: 2",
               "X-Add: 1", "X-Add: 2"}},
             // a change counts past our Received: (index 0 is 1) and writes the
             // milter's spelling of the name; a value for a field not there is
             // appended, a deletion of one is nothing
             {{{'m', 0, "Received", "changed"}, {'m', 2, "x-a", "two"}, {'m', 3, "X-A", "new"}, {'m', 1, "X-No", ""}},
              {"DKIM-Signature: x", "Received: by mx (ours)", "Received: changed", "X-A: 1", "x-a: two", "X-A: new"}},
             {{{'m', 1, "X-A", ""}, {'m', 1, "X-A", ""}},
              {"DKIM-Signature: x", "Received: by mx (ours)", "Received: from client"}},
             // ours stays unseen below a field inserted above it (Postfix 3.7 does so)
             {{{'i', 0, "X-Top", "t"}, {'m', 1, "Received", "the client's"}},
              {"DKIM-Signature: x", "X-Top: t", "Received: by mx (ours)", "Received: the client's", "X-A: 1",
               "X-A: 2"}},
         }) {
        auto edited = cleanup::edit_queue_file(file, edits, 4096);
        REQUIRE(edited);
        CHECK(headers(edited->bytes) == want);
    }
}

TEST_CASE("milter edits keep the body's own records, however its lines were cut", "[milter][cleanup]") {
    std::string long_line(250, 'y');
    // a header field and a body line longer than a record: several records each
    auto file = queue_file({"Received: by mx", "X-Long: " + long_line, "", "b1", long_line, "", "b3"}, 100);
    auto edited = cleanup::edit_queue_file(file, {{'h', 0, "X-New", "n"}}, 100);
    REQUIRE(edited);
    CHECK(content(edited->bytes) == std::vector<std::string>{"DKIM-Signature: x", "Received: by mx",
                                                             "X-Long: " + long_line, "X-New: n", "", "b1", long_line,
                                                             "", "b3"});
    auto env = parse_queue_file(edited->bytes), old_env = parse_queue_file(file);
    REQUIRE(env);
    REQUIRE(old_env);
    CHECK(env->content_size - old_env->content_size == 8 /* "X-New: n" */ + 1);
}

TEST_CASE("milter edits on a body with no blank line before it", "[milter][cleanup]") {
    // the first line that is no header field starts the body; the edited
    // file has the blank line between them that cleanup itself writes
    auto file = queue_file({"Received: by mx", "Subject: s", "plain body line", "last"});
    auto edited = cleanup::edit_queue_file(file, {{'i', 1, "X-In", "i"}}, 4096);
    REQUIRE(edited);
    CHECK(content(edited->bytes) == std::vector<std::string>{"DKIM-Signature: x", "Received: by mx", "X-In: i",
                                                             "Subject: s", "", "plain body line", "last"});
}

TEST_CASE("a replaced body on a message of header fields only", "[milter][cleanup]") {
    auto file = queue_file({"Received: by mx", "Subject: only a header"});
    auto edited = cleanup::edit_queue_file(file, {{'b', 0, "new body\r\n", ""}}, 4096);
    REQUIRE(edited);
    CHECK(content(edited->bytes) ==
          std::vector<std::string>{"DKIM-Signature: x", "Received: by mx", "Subject: only a header", "", "new body"});
    // and no edit of the body leaves it without one
    auto same = cleanup::edit_queue_file(file, {{'h', 0, "X-A", "1"}}, 4096);
    REQUIRE(same);
    CHECK(content(same->bytes) ==
          std::vector<std::string>{"DKIM-Signature: x", "Received: by mx", "Subject: only a header", "X-A: 1"});
}

TEST_CASE("as many header edits as header_size_limit lets a milter ask for", "[milter][cleanup]") {
    // 102400 bytes of "X: 1" changes of a field not there (the next index
    // each time): each one appended after a search of all the others
    std::vector<MilterEdit> edits;
    for (uint32_t i = 1; i <= 102400 / 5; ++i) edits.push_back({'m', i, "X", "1"});
    edits.push_back({'m', 102400 / 5, "x", "last"});
    auto edited = cleanup::edit_queue_file(queue_file(), edits, 4096);
    REQUIRE(edited);
    auto lines = content(edited->bytes);
    CHECK(std::count(lines.begin(), lines.end(), "X: 1") == 102400 / 5 - 1);
    CHECK(std::count(lines.begin(), lines.end(), "x: last") == 1);  // the milter's spelling
}
