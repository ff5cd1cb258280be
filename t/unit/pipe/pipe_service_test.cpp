#include "pipe/pipe_service.hpp"

#include <catch2/catch.hpp>
#include <csignal>

#include <sysexits.h>

using namespace kurir;

TEST_CASE("pipe: a command's end as Postfix's pipe says it", "[pipe]") {
    util::CommandOutcome ok;
    ok.exited = true;
    auto st = pipe::command_status(ok, "dovecot", "/usr/lib/dovecot/dovecot-lda");
    CHECK(st.dsn == "2.0.0");
    CHECK(st.text == "delivered via dovecot service");

    util::CommandOutcome temp = ok;
    temp.status = EX_TEMPFAIL;
    temp.output = "quota\texceeded\nmore";
    st = pipe::command_status(temp, "dovecot", "/x");
    CHECK(st.dsn == "4.3.0");
    CHECK(st.text == "temporary failure. Command output: quota exceeded");

    util::CommandOutcome nouser = ok;
    nouser.status = EX_NOUSER;
    CHECK(pipe::command_status(nouser, "d", "/x").dsn == "5.1.1");
    CHECK(pipe::command_status(nouser, "d", "/x").text == "user unknown");

    util::CommandOutcome other = ok;
    other.status = 1;
    CHECK(pipe::command_status(other, "d", "/x").text == "Command died with status 1: \"/x\"");
    util::CommandOutcome signalled;
    signalled.status = 9;
    CHECK(pipe::command_status(signalled, "d", "/x").dsn == "5.3.0");
    CHECK(pipe::command_status(signalled, "d", "/x").text == "Command died with signal 9: \"/x\"");
    util::CommandOutcome slow;
    slow.timed_out = true;
    CHECK(pipe::command_status(slow, "d", "/x").text == "Command time limit exceeded: \"/x\"");
    util::CommandOutcome config = ok;
    config.status = EX_CONFIG;
    CHECK(pipe::command_status(config, "d", "/x").dsn == "4.3.5");
}

TEST_CASE("run_command: no shell, the given ids, the input, the time limit", "[pipe]") {
    util::CommandSpec spec{{"/bin/sh", "-c", "cat; echo \"$0 $#\" >&2"}, ::getuid(), ::getgid(), "/", {}, 10};
    auto done = util::run_command(spec, "hello\n");
    CHECK(done.exited);
    CHECK(done.status == 0);
    CHECK(done.output == "hello\n/bin/sh 0\n");
    util::CommandSpec argv{{"/bin/echo", "a b", "$HOME;id"}, ::getuid(), ::getgid(), "/", {}, 10};
    CHECK(util::run_command(argv, "").output == "a b $HOME;id\n");
    util::CommandSpec missing{{"/nonexistent/program"}, ::getuid(), ::getgid(), "/", {}, 10};
    auto gone = util::run_command(missing, "");
    CHECK(gone.exited);
    CHECK(gone.status == EX_TEMPFAIL);
    util::CommandSpec slow{{"/bin/sleep", "30"}, ::getuid(), ::getgid(), "/", {}, 1};
    auto timed = util::run_command(slow, "");
    CHECK(timed.timed_out);
}

// Found by review: daemons ignore SIGPIPE, and the command inherited that
// (an ignored signal stays ignored across exec), so a pipeline in a
// .forward saw EPIPE where a shell's would have died quietly.
TEST_CASE("run_command: the command starts with SIGPIPE at its default and no signal blocked", "[pipe]") {
    struct sigaction ignore {}, before {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    REQUIRE(::sigaction(SIGPIPE, &ignore, &before) == 0);
    sigset_t hup, mask_before;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &hup, &mask_before);
    util::CommandSpec spec{{"/bin/sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status"}, ::getuid(), ::getgid(), "/",
                           {}, 10};
    auto done = util::run_command(spec, "");
    ::sigprocmask(SIG_SETMASK, &mask_before, nullptr);
    ::sigaction(SIGPIPE, &before, nullptr);
    INFO(done.output);
    // SIGPIPE is signal 13: bit 0x1000; SIGHUP bit 0x1.
    auto mask = [&](const char* name) {
        auto at = done.output.find(name);
        REQUIRE(at != std::string::npos);
        return std::stoull(done.output.substr(at + std::string(name).size()), nullptr, 16);
    };
    CHECK((mask("SigIgn:") & 0x1000) == 0);
    CHECK((mask("SigBlk:") & 0x1) == 0);
}
