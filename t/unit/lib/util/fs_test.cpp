#include "util/fs.hpp"

#include "../../test_util.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

using namespace kurir::util;
namespace kt = kurir::test;

namespace {
using Create = Result<void> (*)(const std::string&, const std::string&, std::initializer_list<std::string_view>, int,
                                const std::string&);

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}
}  // namespace

TEST_CASE("create_file_durable: the parts under the new name, nothing else left", "[fs]") {
    auto way = GENERATE(as<Create>{}, &create_file_durable, &create_file_durable_via_temp);
    kt::TempDir tmp;
    auto r = way(tmp.path(), "ABC", {"head\n", "", "body\n"}, 0640, {});
    REQUIRE(r);
    CHECK(kt::slurp(tmp / "ABC") == "head\nbody\n");
    CHECK(mode_of(tmp / "ABC") == 0640);
    CHECK(kt::dir_entries(tmp.path()) == std::vector<std::string>{"ABC"});
}

TEST_CASE("create_file_durable: large parts arrive whole and in order", "[fs]") {
    auto way = GENERATE(as<Create>{}, &create_file_durable, &create_file_durable_via_temp);
    kt::TempDir tmp;
    std::string a(300000, 'a'), b(1, 'b'), c(700001, 'c');
    REQUIRE(way(tmp.path(), "BIG", {a, "", b, c}, 0600, {}));
    CHECK(kt::slurp(tmp / "BIG") == a + b + c);
}

TEST_CASE("create_file_durable: never replaces an existing name", "[fs]") {
    auto way = GENERATE(as<Create>{}, &create_file_durable, &create_file_durable_via_temp);
    kt::TempDir tmp;
    kt::spit(tmp / "ABC", "first\n");
    auto r = way(tmp.path(), "ABC", {"second\n"}, 0600, {});
    REQUIRE(!r);
    CHECK_THAT(r.error().text, Catch::Contains(tmp / "ABC") && Catch::Contains("File exists"));
    CHECK(kt::slurp(tmp / "ABC") == "first\n");
    CHECK(kt::dir_entries(tmp.path()) == std::vector<std::string>{"ABC"});
}

TEST_CASE("create_file_durable: the temp file goes where the caller says (Maildir tmp/)", "[fs]") {
    kt::TempDir tmp;
    ::mkdir((tmp / "new").c_str(), 0700);
    ::mkdir((tmp / "tmp").c_str(), 0700);
    auto r = create_file_durable_via_temp(tmp / "new", "m1", {"x\n"}, 0600, tmp / "tmp/m1");
    REQUIRE(r);
    CHECK(kt::slurp(tmp / "new/m1") == "x\n");
    CHECK(kt::dir_entries(tmp / "tmp").empty());
    // A temp name already taken is an error, not an overwrite of someone's file.
    kt::spit(tmp / "tmp/m2", "someone else's\n");
    CHECK(!create_file_durable_via_temp(tmp / "new", "m2", {"y\n"}, 0600, tmp / "tmp/m2"));
    CHECK(kt::slurp(tmp / "tmp/m2") == "someone else's\n");
    CHECK(kt::dir_entries(tmp / "new") == std::vector<std::string>{"m1"});
}

TEST_CASE("create_file_durable: a missing directory is an error naming it", "[fs]") {
    auto way = GENERATE(as<Create>{}, &create_file_durable, &create_file_durable_via_temp);
    kt::TempDir tmp;
    auto r = way(tmp / "nope", "ABC", {"x\n"}, 0600, {});
    REQUIRE(!r);
    CHECK_THAT(r.error().text, Catch::Contains(tmp / "nope"));
}

// A name whose sync after the link fails is removed again: the caller
// reports failure and is asked again (4xx, a deferred delivery), and a copy
// left under the name would be taken for a whole one and delivered twice.
TEST_CASE("create_file_durable: a sync that fails after the link leaves no name behind", "[fs]") {
    auto way = GENERATE(as<Create>{}, &create_file_durable, &create_file_durable_via_temp);
    kt::TempDir tmp;
    bool tested = kt::failed_when_sync_after_link_fails(tmp.path(), [&] {
        auto r = way(tmp.path(), "ABC", {"x\n"}, 0600, {});
        return r ? std::string() : r.error().text;
    });
    if (tested) CHECK(kt::dir_entries(tmp.path()).empty());
}

TEST_CASE("dirname_of: the directory a path is in, as dirname(1)", "[fs]") {
    std::vector<std::pair<std::string, std::string>> cases = {
        {"/a/b", "/a"}, {"/a/b/", "/a"}, {"/a//b//", "/a"}, {"a/b", "a"}, {"a", "."},   {"a/", "."},
        {"/a", "/"},    {"/", "/"},      {"//", "/"},       {"", "."},    {"//a", "/"},
    };
    for (const auto& [path, dir] : cases) {
        INFO(path);
        CHECK(dirname_of(path) == dir);
    }
}

TEST_CASE("open_regular: a file, never a link to one, never a FIFO or a directory", "[fs]") {
    kt::TempDir tmp;
    std::string file = tmp.path() + "/file", link = tmp.path() + "/link", fifo = tmp.path() + "/fifo";
    REQUIRE(create_file_durable(tmp.path(), "file", {"content"}, 0600));
    REQUIRE(::symlink(file.c_str(), link.c_str()) == 0);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto fd = open_regular(file);
    REQUIRE(fd);
    CHECK(read_all(fd->get(), file).value() == "content");
    CHECK(open_regular(link).error().text == link + ": not a regular file");
    CHECK(open_regular(fifo).error().text == fifo + ": not a regular file");  // and did not block
    CHECK(open_regular(tmp.path()).error().text == tmp.path() + ": not a regular file");
    CHECK(open_regular(tmp.path() + "/none").error().text == "open " + tmp.path() + "/none: No such file or directory");
}

TEST_CASE("read_all_bounded: all of it up to the limit, nullopt past it, without reading on", "[fs]") {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    Fd r(p[0]), w(p[1]);
    REQUIRE(write_all(w.get(), std::string(10, 'x'), "pipe"));
    SECTION("within the limit") {
        w.reset();
        auto got = read_all_bounded(r.get(), "pipe", 10);
        REQUIRE(got);
        REQUIRE(*got);
        CHECK(**got == std::string(10, 'x'));
    }
    SECTION("past it: the answer comes although the writer never closes") {
        auto got = read_all_bounded(r.get(), "pipe", 9);
        REQUIRE(got);
        CHECK_FALSE(*got);
    }
}

TEST_CASE("read_all: a read error names what was read", "[fs]") {
    CHECK(read_all(-1, "standard input").error().text == "read standard input: Bad file descriptor");
}

TEST_CASE("replace_file_durable: new content, the old file's mode, no temp file left; a link is refused", "[fs]") {
    kt::TempDir tmp;
    kt::spit(tmp / "main.cf", "old\n");
    REQUIRE(::chmod((tmp / "main.cf").c_str(), 0640) == 0);
    REQUIRE(replace_file_durable(tmp.path(), "main.cf", "new\n"));
    CHECK(kt::slurp(tmp / "main.cf") == "new\n");
    CHECK(mode_of(tmp / "main.cf") == 0640);
    CHECK(kt::dir_entries(tmp.path()) == std::vector<std::string>{"main.cf"});
    kt::spit(tmp / "elsewhere", "keep\n");
    REQUIRE(::symlink((tmp / "elsewhere").c_str(), (tmp / "link.cf").c_str()) == 0);
    auto r = replace_file_durable(tmp.path(), "link.cf", "x\n");
    REQUIRE_FALSE(r);
    CHECK(r.error().text.find("link.cf") != std::string::npos);
    CHECK(kt::slurp(tmp / "elsewhere") == "keep\n");
    CHECK_FALSE(replace_file_durable(tmp.path(), "absent.cf", "x\n"));
}
