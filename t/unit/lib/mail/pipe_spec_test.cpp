#include "mail/pipe_spec.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

namespace {
PipeSpec spec_of(std::vector<std::string> args) {
    auto s = parse_pipe_args(args);
    INFO((s ? std::string() : s.error().text));
    REQUIRE(s);
    return *s;
}
std::string error_of(std::vector<std::string> args) {
    auto s = parse_pipe_args(args);
    REQUIRE(!s);
    return s.error().text;
}
}  // namespace

TEST_CASE("pipe attributes: Postfix's dovecot-lda line", "[pipe]") {
    auto s = spec_of({"flags=DRhu", "user=vmail:mail", "argv=/usr/lib/dovecot/dovecot-lda", "-f", "${sender}", "-d",
                      "${recipient}"});
    CHECK(s.flags == "DRhu");
    CHECK(s.user == "vmail");
    CHECK(s.group == "mail");
    CHECK(s.argv == std::vector<std::string>{"/usr/lib/dovecot/dovecot-lda", "-f", "${sender}", "-d", "${recipient}"});
    CHECK(s.eol == "\n");
    CHECK(s.null_sender == "MAILER-DAEMON");
    auto t = spec_of({"user=u", "size=1000", "eol=\\r\\n", "null_sender=", "directory=/tmp", "argv=/bin/cat", "flags=x"});
    CHECK(t.size_limit == 1000);
    CHECK(t.eol == "\r\n");
    CHECK(t.null_sender.empty());
    CHECK(t.directory == "/tmp");
    CHECK(t.argv.back() == "flags=x");  // after argv=, everything is the command's
}

TEST_CASE("pipe attributes: errors name what is wrong", "[pipe]") {
    CHECK(error_of({"argv=/bin/cat"}) == "pipe: missing user= attribute");
    CHECK(error_of({"user=u"}) == "pipe: missing argv= attribute");
    CHECK(error_of({"user=u", "argv=cat"}) == "pipe: argv= wants an absolute path: cat");
    CHECK(error_of({"user=u", "flags=Z", "argv=/bin/cat"}) == "pipe: unknown flag 'Z' in flags=Z");
    CHECK(error_of({"user=u", "bogus=1", "argv=/bin/cat"}) == "pipe: unknown attribute \"bogus\"");
    CHECK(error_of({"user=u", "noequals", "argv=/bin/cat"}).find("noequals") != std::string::npos);
    CHECK(error_of({"user=u", "argv=/bin/cat", "${nosuch}"}) == "pipe: unknown macro ${nosuch}");
    CHECK(error_of({"user=u", "argv=/bin/cat", "${sender"}).find("unterminated") != std::string::npos);
    CHECK(error_of({"user=u", "size=-1", "argv=/bin/cat"}) == "pipe: bad size=-1");
    CHECK(error_of({"user=:g", "argv=/bin/cat"}) == "pipe: bad user=:g");
    CHECK(error_of({"user=u", "directory=rel", "argv=/bin/cat"}).find("absolute") != std::string::npos);
}

TEST_CASE("pipe argv: macros, per-recipient repetition, folding and quoting", "[pipe]") {
    PipeMacros m;
    m.sender = "Sender@Example.COM";
    m.nexthop = "Dest.Example";
    m.queue_id = "QID";
    m.size = 42;
    m.recipients = {{"Bob+Tag@Example.ORG", "orig@x"}, {"carol@example.org", ""}};
    auto s = spec_of({"user=u", "argv=/bin/x", "-f", "${sender}", "$nexthop", "-d", "${user}+$(extension)@${domain}",
                      "${queue_id}/${size}", "$$HOME", "--", "${recipient}", "${original_recipient}"});
    CHECK(expand_pipe_argv(s, m, "+") ==
          std::vector<std::string>{"/bin/x", "-f", "Sender@Example.COM", "Dest.Example", "-d", "Bob+Tag@Example.ORG",
                                   "carol+@example.org", "QID/42", "$HOME", "--", "Bob+Tag@Example.ORG",
                                   "carol@example.org", "orig@x", "carol@example.org"});
    auto folded = spec_of({"flags=hu", "user=u", "argv=/bin/x", "${nexthop}", "${recipient}", "${user}", "${mailbox}"});
    m.recipients.resize(1);
    CHECK(expand_pipe_argv(folded, m, "+") ==
          std::vector<std::string>{"/bin/x", "dest.example", "bob+tag@example.org", "bob", "bob+tag"});
    m.sender = "";
    CHECK(expand_pipe_argv(s, m, "+")[2] == "MAILER-DAEMON");
    auto quoted = spec_of({"flags=q", "user=u", "argv=/bin/x", "${recipient}"});
    m.recipients = {{"john doe@x", ""}};
    CHECK(expand_pipe_argv(quoted, m, "")[1] == "\"john doe\"@x");
    auto plain = spec_of({"user=u", "argv=/bin/x", "${recipient}"});
    CHECK(expand_pipe_argv(plain, m, "")[1] == "john doe@x");  // one argument, never split
}

TEST_CASE("pipe message: the flags' lines, dot-stuffing, From quoting, eol, blank line", "[pipe]") {
    PipeMacros m;
    m.sender = "s@x";
    m.recipients = {{"r@y", "o@z"}};
    std::string body = "Subject: hi\n\n.dot\nFrom here\nend\n";
    auto plain = spec_of({"user=u", "argv=/bin/cat"});
    CHECK(pipe_message(plain, m, 0, body) == body);
    auto all = spec_of({"flags=RDO.>B", "user=u", "eol=\\r\\n", "argv=/bin/cat"});
    CHECK(pipe_message(all, m, 0, body) ==
          "Return-Path: <s@x>\r\nDelivered-To: r@y\r\nX-Original-To: o@z\r\nSubject: hi\r\n\r\n..dot\r\n>From here\r\n"
          "end\r\n\r\n");
    auto from = spec_of({"flags=F", "user=u", "argv=/bin/cat"});
    CHECK(pipe_message(from, m, 0, body).starts_with("From s@x "));
    m.sender = "";
    CHECK(pipe_message(spec_of({"flags=R", "user=u", "argv=/bin/cat"}), m, 0, body).starts_with("Return-Path: <>\n"));
}
