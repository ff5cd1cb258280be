#include "local/local_command.hpp"

#include "../test_util.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <string>

using namespace kurir::local;
namespace kt = kurir::test;

namespace {
CommandRun command(const std::string& cmd, long limit) {
    return CommandRun{cmd, ::getuid(), ::getgid(), "/", {}, limit};
}

// Running, not a zombie waiting for its (new) parent.
bool alive(pid_t pid) {
    std::string stat = kt::slurp("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}
}  // namespace

TEST_CASE("deliver_command: status, output and the message on stdin", "[local]") {
    kt::TempDir tmp;
    auto ok = deliver_command(command("cat > " + tmp / "got", 30), "From x\nhello\n");
    CHECK(ok.dsn == "2.0.0");
    CHECK(kt::slurp(tmp / "got") == "From x\nhello\n");
    auto temp = deliver_command(command("echo try later; exit 75", 30), "x\n");
    CHECK(temp.dsn == "4.3.0");
    CHECK(temp.text == "temporary failure. Command output: try later");
    auto hard = deliver_command(command("echo no such user >&2; exit 67", 30), "x\n");
    CHECK(hard.dsn == "5.3.0");
    CHECK_THAT(hard.text, Catch::Contains("status 67") && Catch::Contains("no such user"));
    // A command that exits and leaves a child holding its output is done at its exit.
    auto bg = deliver_command(command("sleep 30 & echo $! > " + tmp / "bgpid" + "; echo left", 30), "x\n");
    CHECK(bg.dsn == "2.0.0");
    pid_t child = std::stoi(kt::slurp(tmp / "bgpid"));
    ::kill(child, SIGKILL);
}

// The time limit covers the wait for the exit: a command that closes its
// output and sleeps used to hold local for ever; now it and its children
// are killed at the limit.
TEST_CASE("deliver_command: a command that closes its output and sleeps ends at the time limit", "[local]") {
    kt::TempDir tmp;
    std::string cmd = "exec >&- 2>&- </dev/null; sleep 300 & echo $! > " + tmp / "child" + "; echo $$ > " +
                      tmp / "pid" + "; sleep 300";
    auto st = deliver_command(command(cmd, 1), "x\n");
    CHECK(st.dsn == "5.3.0");
    CHECK(st.text == "Command time limit exceeded: \"" + cmd + "\"");
    pid_t shell = std::stoi(kt::slurp(tmp / "pid"));
    pid_t child = std::stoi(kt::slurp(tmp / "child"));
    CHECK(!alive(shell));
    // The process group went with it (SIGKILL takes effect asynchronously:
    // waited for with a deadline).
    for (int i = 0; i < 500 && alive(child); ++i) ::usleep(10000);
    CHECK(!alive(child));
    if (alive(child)) ::kill(child, SIGKILL);
}
