#include "local/local_listfile.hpp"

#include "../test_util.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

using namespace kurir::local;
namespace kt = kurir::test;

TEST_CASE("read_list_file: a plain file is read, a missing one is no file", "[local]") {
    kt::TempDir tmp;
    kt::spit(tmp / "fwd", "amy, bob\n");
    ::chmod((tmp / "fwd").c_str(), 0644);
    auto t = read_list_file(tmp / "fwd", {::geteuid(), S_IWGRP | S_IWOTH});
    REQUIRE(t);
    REQUIRE(*t);
    CHECK(**t == "amy, bob\n");
    auto none = read_list_file(tmp / "missing", {std::nullopt, S_IWOTH});
    REQUIRE(none);
    CHECK(!*none);
    auto under_file = read_list_file(tmp / "fwd/x", {std::nullopt, S_IWOTH});
    REQUIRE(under_file);
    CHECK(!*under_file);
}

TEST_CASE("read_list_file: a FIFO is refused without waiting for a writer", "[local]") {
    kt::TempDir tmp;
    REQUIRE(::mkfifo((tmp / "fifo").c_str(), 0600) == 0);
    auto t = read_list_file(tmp / "fifo", {std::nullopt, S_IWOTH});
    REQUIRE(!t);
    CHECK(t.error().text == tmp / "fifo" + ": not a regular file");
}

TEST_CASE("read_list_file: symbolic links, directories, modes, owners and size", "[local]") {
    kt::TempDir tmp;
    kt::spit(tmp / "target", "amy\n");
    ::chmod((tmp / "target").c_str(), 0644);
    REQUIRE(::symlink((tmp / "target").c_str(), (tmp / "link").c_str()) == 0);
    auto link = read_list_file(tmp / "link", {std::nullopt, S_IWOTH});
    REQUIRE(!link);
    CHECK(link.error().text == tmp / "link" + ": is a symbolic link");

    ::mkdir((tmp / "dir").c_str(), 0755);
    auto dir = read_list_file(tmp / "dir", {std::nullopt, S_IWOTH});
    CHECK(!dir);

    kt::spit(tmp / "open", "amy\n");
    ::chmod((tmp / "open").c_str(), 0622);
    auto world = read_list_file(tmp / "open", {std::nullopt, S_IWOTH});
    REQUIRE(!world);
    CHECK(world.error().text == tmp / "open" + ": writable by others");
    ::chmod((tmp / "open").c_str(), 0664);
    CHECK(read_list_file(tmp / "open", {std::nullopt, S_IWOTH}));  // group-writable: fine for :include:
    CHECK(!read_list_file(tmp / "open", {std::nullopt, S_IWGRP | S_IWOTH}));  // not for .forward

    // Owned by someone else (and not root).
    uid_t other = ::geteuid() == 0 ? 54321 : ::geteuid() + 1;
    if (::geteuid() == 0) REQUIRE(::chown((tmp / "target").c_str(), 12345, 12345) == 0);
    auto owner = read_list_file(tmp / "target", {other, S_IWOTH});
    REQUIRE(!owner);
    CHECK_THAT(owner.error().text, Catch::Contains("bad owner uid"));

    kt::spit(tmp / "big", std::string(2000, 'x'));
    ::chmod((tmp / "big").c_str(), 0644);
    auto big = read_list_file(tmp / "big", {std::nullopt, S_IWOTH, 1000});
    REQUIRE(!big);
    CHECK(big.error().text == tmp / "big" + ": file too large");
}
