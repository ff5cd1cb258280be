#include "qmgr/qmgr_remover.hpp"

#include "../test_util.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <string>

using kurir::qmgr::Remover;
namespace kt = kurir::test;

TEST_CASE("the remover has removed every file asked for when it is destroyed") {
    kt::TempDir dir;
    {
        Remover remover(4, 3);
        for (int i = 0; i < 200; ++i) {
            kt::spit(dir / std::to_string(i), "queue file");
            remover.remove(dir / std::to_string(i));
        }
    }
    CHECK(kt::dir_entries(dir.path()).empty());
}

TEST_CASE("no more removals than the limit are pending: the next waits for one to finish") {
    kt::TempDir dir;
    kt::spit(dir / "first", "x");
    kt::spit(dir / "second", "x");
    Remover remover(1, 2);
    remover.remove(dir / "first");
    remover.remove(dir / "second");  // returns only once "first" is gone
    struct stat st {};
    CHECK(::lstat((dir / "first").c_str(), &st) < 0);
}

TEST_CASE("a failed removal is reported once, with its path and reason") {
    kt::TempDir dir;
    ::mkdir((dir / "a-directory").c_str(), 0700);
    Remover remover(1, 1);
    remover.remove(dir / "missing");
    remover.remove(dir / "a-directory");
    remover.remove(dir / "missing-too");  // waits for the second: both failures are in
    auto failures = remover.take_failures();
    REQUIRE(failures.size() >= 2);
    CHECK(failures[0] == "remove " + (dir / "missing") + ": No such file or directory");
    CHECK(failures[1] == "remove " + (dir / "a-directory") + ": Is a directory");
    CHECK(kt::is_dir(dir / "a-directory"));
    auto rest = remover.take_failures();
    CHECK(rest.size() + failures.size() <= 3);
}
