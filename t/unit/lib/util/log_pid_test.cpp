// A log line names the process that wrote it: the pid logging keeps (to
// spare a getpid() per line) is a forked child's own, not its parent's.
#include "../../test_util.hpp"
#include "util/log.hpp"

#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

using namespace kurir;
namespace kt = kurir::test;

TEST_CASE("a line logged after fork() carries the child's pid", "[log]") {
    kt::CapturedLog log;
    util::msg_info("from the parent");
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        util::msg_info("from the child");
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    util::msg_info("from the parent again");
    std::string text = log.text();
    std::string parent = "[" + std::to_string(::getpid()) + "]: ";
    CHECK(text.find(parent + "from the parent\n") != std::string::npos);
    CHECK(text.find("[" + std::to_string(child) + "]: from the child\n") != std::string::npos);
    CHECK(text.find(parent + "from the parent again\n") != std::string::npos);
}
