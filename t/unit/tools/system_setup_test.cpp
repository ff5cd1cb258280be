#include "tools/system_setup.hpp"

#include "../test_util.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

using namespace kurir::tools;
namespace kt = kurir::test;

namespace {
struct stat stat_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st;
}
}  // namespace

TEST_CASE("repair_setgid_program makes a program root:group 2755 through its descriptor", "[system_setup]") {
    if (::geteuid() != 0) {
        WARN("not root: repair_setgid_program (chown to root) not tested");
        return;
    }
    kt::TempDir tmp;
    std::string prog = tmp / "kurir-drop";
    kt::spit(prog, "#!/bin/true\n");
    REQUIRE(::chmod(prog.c_str(), 0755) == 0);
    const gid_t group = 65534;

    auto changed = repair_setgid_program(prog, group);
    REQUIRE(changed);
    CHECK_THAT(*changed, Catch::Contains(prog));
    CHECK_THAT(*changed, Catch::Contains("mode 0755"));
    auto st = stat_of(prog);
    CHECK(st.st_uid == 0);
    CHECK(st.st_gid == group);
    CHECK((st.st_mode & 07777) == 02755);

    // Already right: nothing to say, nothing changed.
    auto again = repair_setgid_program(prog, group);
    REQUIRE(again);
    CHECK(again->empty());

    // A symbolic link in the program's place is refused, its target untouched.
    std::string target = tmp / "target";
    kt::spit(target, "x");
    REQUIRE(::chmod(target.c_str(), 0644) == 0);
    std::string link = tmp / "kurir-queue";
    REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
    auto refused = repair_setgid_program(link, group);
    REQUIRE(!refused);
    CHECK_THAT(refused.error().text, Catch::Contains(link + ": not a regular file"));
    auto tst = stat_of(target);
    CHECK(tst.st_gid == 0);
    CHECK((tst.st_mode & 07777) == 0644);

    auto missing = repair_setgid_program(tmp / "nope", group);
    REQUIRE(!missing);
    CHECK_THAT(missing.error().text, Catch::Contains("open " + (tmp / "nope") + ": No such file"));
}
