#include "mail/dovecot_auth.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;
using namespace std::string_literals;

TEST_CASE("dovecot auth: tab-escaping both ways", "[dovecot_auth]") {
    std::string raw = "a\tb\nc\rd\001e\0f"s;
    std::string esc = dovecot_escape(raw);
    CHECK(esc == "a\001tb\001nc\001rd\0011e\0010f"s);
    CHECK(esc.find('\t') == std::string::npos);
    CHECK(dovecot_unescape(esc).value() == raw);
    CHECK(dovecot_unescape("x\001ly").value() == "x\ny");  // the newer spelling of LF
    CHECK(dovecot_unescape("x\001zy").value() == "xzy");   // any other: the character itself
    CHECK_FALSE(dovecot_unescape("x\001"));
    auto f = dovecot_split("OK\t1\tuser=a\001tb");
    REQUIRE(f);
    CHECK(*f == std::vector<std::string>{"OK", "1", "user=a\tb"});
    CHECK_FALSE(dovecot_split("OK\t1\nx"));
    CHECK_FALSE(dovecot_split(std::string(kMaxDovecotLine + 1, 'x')));
}

TEST_CASE("dovecot auth: the server's handshake", "[dovecot_auth]") {
    DovecotHandshake h;
    for (const char* line : {"VERSION\t1\t2", "MECH\tPLAIN\tplaintext", "MECH\tlogin\tplaintext", "SPID\t4711",
                             "CUID\t3", "COOKIE\t0123456789abcdef", "SOMETHING\tnew"}) {
        REQUIRE(h.feed(line));
        CHECK_FALSE(h.done());
    }
    REQUIRE(h.feed("DONE"));
    CHECK(h.done());
    CHECK(h.has_mechanism("PLAIN"));
    CHECK(h.has_mechanism("LOGIN"));
    CHECK_FALSE(h.has_mechanism("CRAM-MD5"));
    CHECK_FALSE(h.feed("MECH\tX"));

    DovecotHandshake v2;
    CHECK_FALSE(v2.feed("VERSION\t2\t0"));
    DovecotHandshake noversion;
    CHECK_FALSE(noversion.feed("MECH\tPLAIN"));
    DovecotHandshake bad;
    CHECK_FALSE(bad.feed("VERSION\tx\t1"));
    REQUIRE(bad.feed("VERSION\t1\t0") );
    CHECK_FALSE(bad.feed("MECH"));
}

TEST_CASE("dovecot auth: what the client sends", "[dovecot_auth]") {
    CHECK(dovecot_client_hello(42) == "VERSION\t1\t1\nCPID\t42\n");
    DovecotAuthRequest r;
    r.id = 7;
    r.mechanism = "PLAIN";
    r.remote_addr = "192.0.2.1";
    r.initial = "AHUAcA==";
    CHECK(format_dovecot_auth(r) == "AUTH\t7\tPLAIN\tservice=smtp\tnologin\trip=192.0.2.1\tresp=AHUAcA==\n");
    r.initial.reset();
    r.secured = true;
    r.local_addr = "192.0.2.2";
    r.service = "sub\tmission";
    CHECK(format_dovecot_auth(r) ==
          "AUTH\t7\tPLAIN\tservice=sub\001tmission\tnologin\tlip=192.0.2.2\trip=192.0.2.1\tsecured\n");
    r.initial = "";  // "=" from the client: an empty initial response
    CHECK(format_dovecot_auth(r).ends_with("\tsecured\tresp=\n"));
    CHECK(format_dovecot_cont(9, "dXNlcg==") == "CONT\t9\tdXNlcg==\n");
}

TEST_CASE("dovecot auth: the server's replies", "[dovecot_auth]") {
    auto ok = parse_dovecot_reply("OK\t3\tuser=alice\tsomething=else");
    REQUIRE(ok);
    CHECK(ok->kind == DovecotReply::Kind::ok);
    CHECK(ok->id == 3);
    CHECK(ok->user == "alice");
    auto fail = parse_dovecot_reply("FAIL\t4\tuser=bob\treason=Password\001texpired\ttemp");
    REQUIRE(fail);
    CHECK(fail->kind == DovecotReply::Kind::fail);
    CHECK(fail->reason == "Password\texpired");
    CHECK(fail->temporary);
    auto plainfail = parse_dovecot_reply("FAIL\t5");
    REQUIRE(plainfail);
    CHECK(plainfail->reason.empty());
    CHECK_FALSE(plainfail->temporary);
    auto cont = parse_dovecot_reply("CONT\t6\tVXNlcm5hbWU6");
    REQUIRE(cont);
    CHECK(cont->kind == DovecotReply::Kind::cont);
    CHECK(cont->challenge == "VXNlcm5hbWU6");
    auto empty_cont = parse_dovecot_reply("CONT\t6\t");
    REQUIRE(empty_cont);
    CHECK(empty_cont->challenge.empty());
    for (const char* bad : {"", "OK", "OK\tx\tuser=a", "OK\t1", "CONT\t1", "NOTFOUND\t1", "OK\t-1\tuser=a",
                            "OK\t99999999999999999999\tuser=a"})
        CHECK_FALSE(parse_dovecot_reply(bad));
}
