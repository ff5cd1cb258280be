#include "mail/queue_file.hpp"
#include "mail/record.hpp"
#include "tools/sendmail_submit.hpp"

#include <catch2/catch.hpp>

using namespace kurir;
using tools::SendmailMode;

namespace {
tools::SendmailOptions parse(std::vector<std::string> args, std::string_view prog = "sendmail") {
    auto o = tools::parse_sendmail_args(prog, args);
    REQUIRE(o);
    return *o;
}
}  // namespace

TEST_CASE("sendmail options as Postfix's sendmail takes them") {
    auto o = parse({"-t", "-oi", "-f", "<boss@x.test>", "-F", "The Boss", "-N", "never", "-V", "env1", "-C", "/etc/k",
                    "-o", "ignored", "-oem", "--", "a@b.test, c@d.test", "e@f.test"});
    CHECK(o.extract);
    CHECK(!o.dots_end);
    CHECK(o.sender == std::optional<std::string>("boss@x.test"));
    CHECK(o.fullname == "The Boss");
    CHECK(o.notify == "never");
    CHECK(o.envid == "env1");
    CHECK(o.config_dir == "/etc/k");
    CHECK(o.recipients == std::vector<std::string>{"a@b.test", "c@d.test", "e@f.test"});
    CHECK(parse({"-fme@x.test", "u@v"}).sender == std::optional<std::string>("me@x.test"));
    CHECK(parse({"-bs"}).mode == SendmailMode::smtp_stdin);
    CHECK(parse({"-bp"}).mode == SendmailMode::print_queue);
    CHECK(parse({}, "mailq").mode == SendmailMode::print_queue);
    CHECK(parse({}, "newaliases").mode == SendmailMode::init_aliases);
    CHECK(parse({"-q"}).mode == SendmailMode::flush_queue);
    CHECK(parse({"-bv", "x@y"}).mode == SendmailMode::verify);
}

TEST_CASE("sendmail refuses what it cannot use") {
    CHECK(!tools::parse_sendmail_args("sendmail", {"-Z", "a@b"}));
    CHECK(!tools::parse_sendmail_args("sendmail", {}));               // no recipients and no -t
    CHECK(!tools::parse_sendmail_args("sendmail", {"-f", "bad<@"}));  // bad sender
    CHECK(!tools::parse_sendmail_args("sendmail", {"-f"}));           // missing value
    CHECK(tools::parse_sendmail_args("sendmail", {"-t"}));
    CHECK(!tools::parse_sendmail_args("sendmail", {"-N", "sometimes", "a@b"}));
    CHECK(!tools::parse_sendmail_args("sendmail", {"-V", std::string(101, 'e'), "a@b"}));
    CHECK(!tools::parse_sendmail_args("sendmail", {"-V", "tab\there", "a@b"}));
    CHECK(tools::parse_sendmail_args("sendmail", {"-N", "success,DELAY", "-V", "e1", "a@b"}));
}

TEST_CASE("the submission stream: envelope, lines, dots, From_ line, end") {
    auto o = parse({"-F", "Me", "a@b.test"});
    tools::SubmissionWriter w(o);
    std::string out = w.envelope();
    CHECK(w.line("From me Mon Nov 23 00:00:00 2026", out));  // skipped mbox From_ line
    CHECK(w.line("Subject: x\r", out));
    CHECK(w.line("", out));
    CHECK(w.line("..dot stays", out));
    CHECK(!w.line(".", out));  // a lone dot ends the message without -i
    out += w.finish();
    std::string file;
    mail::rec_append(file, mail::rec::version, "1");
    mail::rec_append(file, mail::rec::time, "1 0");
    file += out;
    mail::rec_append(file, mail::rec::end, "");
    auto env = mail::parse_queue_file(file);
    REQUIRE(env);
    CHECK(env->attr("fullname") == "Me");
    CHECK(env->recipients.at(0).address == "a@b.test");
    std::vector<std::string> lines;
    REQUIRE(mail::for_each_content_line(file, *env, [&](std::string_view l) { lines.emplace_back(l); }));
    CHECK(lines == std::vector<std::string>{"Subject: x", "", "..dot stays"});
    auto i = parse({"-i", "a@b"});
    tools::SubmissionWriter wi(i);
    std::string o2;
    CHECK(wi.line(".", o2));
}

// Found by review: "sendmail -t" with no recipient in the header exited 0,
// and the message went to corrupt/ with only a line in the log.
TEST_CASE("sendmail -t knows when the header names no recipient, as cleanup will read it") {
    struct Case {
        std::vector<std::string> args;
        std::vector<std::string> lines;
        bool without;
    };
    const Case cases[] = {
        {{"-t"}, {"Subject: x", "", "To: in the body@x.test"}, true},
        {{"-t"}, {"Subject: x", "To: a@b.test", "", "body"}, false},
        {{"-t"}, {"cc:", "  b@c.test", "", "body"}, false},  // folded
        {{"-t"}, {"BCC: d@e.test"}, false},                   // no body, the field still open
        {{"-t"}, {"To: undisclosed-recipients:;", "", "x"}, true},
        {{"-t"}, {"Subject: x", "not a header", "To: a@b.test"}, true},  // the header ended before To:
        {{"-t", "a@b.test"}, {"Subject: x", "", "x"}, false},
        {{"a@b.test"}, {"Subject: x", "", "x"}, false},
    };
    for (const auto& c : cases) {
        auto o = parse(c.args);
        tools::SubmissionWriter w(o);
        std::string out = w.envelope();
        for (const auto& l : c.lines) w.line(l, out);
        INFO(c.lines.front());
        CHECK(w.without_recipients() == c.without);
    }
}
