#include "cleanup/cleanup_file.hpp"

#include "../test_util.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace kurir;
namespace kt = kurir::test;

TEST_CASE("IncomingFile: committed whole under its name", "[cleanup]") {
    kt::TempDir tmp;
    auto file = cleanup::IncomingFile::create(tmp.path(), "4Q1ABC");
    REQUIRE(file);
    REQUIRE(file->write("C 123\n"));
    REQUIRE(file->write_at(2, "9"));
    REQUIRE(file->commit());
    CHECK(kt::slurp(tmp / "4Q1ABC") == "C 923\n");
    CHECK(kt::dir_entries(tmp.path()) == std::vector<std::string>{"4Q1ABC"});
}

// The client hears 4xx and sends the message again: a queue file left under
// its name after its sync failed would be delivered too.
TEST_CASE("IncomingFile: a sync that fails after the link leaves no queue file", "[cleanup]") {
    kt::TempDir tmp;
    bool tested = kt::failed_when_sync_after_link_fails(tmp.path(), [&] {
        auto file = cleanup::IncomingFile::create(tmp.path(), "4Q1ABC");
        if (!file) return file.error().text;
        if (auto w = file->write("message\n"); !w) return w.error().text;
        auto r = file->commit();
        return r ? std::string() : r.error().text;
    });
    if (tested) CHECK(kt::dir_entries(tmp.path()).empty());
}
