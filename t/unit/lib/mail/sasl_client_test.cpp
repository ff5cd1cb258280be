#include "mail/sasl.hpp"
#include "mail/sasl_client.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;
using namespace std::string_literals;

TEST_CASE("sasl client: security options as Postfix names them", "[sasl_client]") {
    auto o = parse_sasl_security_options({"noplaintext", "NoAnonymous"});
    REQUIRE(o);
    CHECK(o->noplaintext);
    CHECK(o->noanonymous);
    CHECK_FALSE(o->noactive);
    auto none = parse_sasl_security_options({});
    REQUIRE(none);
    CHECK_FALSE(none->noplaintext);
    auto bad = parse_sasl_security_options({"noanonymous", "nosuch"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().text == "unknown SASL security option: nosuch");
}

TEST_CASE("sasl client: mechanism filter keeps the server's order", "[sasl_client]") {
    using V = std::vector<std::string>;
    CHECK(filter_sasl_mechanisms("login plain CRAM-MD5", {}) == V{"LOGIN", "PLAIN", "CRAM-MD5"});
    CHECK(filter_sasl_mechanisms("PLAIN LOGIN", {"login"}) == V{"LOGIN"});
    CHECK(filter_sasl_mechanisms("CRAM-MD5", {"plain", "login"}).empty());
    CHECK(filter_sasl_mechanisms("", {}).empty());
    CHECK(filter_sasl_mechanisms("PLAIN  PLAIN\tLOGIN", {}) == V{"PLAIN", "LOGIN"});
}

TEST_CASE("sasl client: noplaintext leaves no mechanism kurir speaks", "[sasl_client]") {
    SaslSecurityOptions plain_ok{.noanonymous = true};
    SaslSecurityOptions no_plain{.noplaintext = true, .noanonymous = true};
    CHECK(choose_sasl_mechanism({"LOGIN", "PLAIN"}, plain_ok) == "PLAIN");
    CHECK(choose_sasl_mechanism({"LOGIN"}, plain_ok) == "LOGIN");
    CHECK_FALSE(choose_sasl_mechanism({"CRAM-MD5"}, plain_ok));
    CHECK_FALSE(choose_sasl_mechanism({"LOGIN", "PLAIN"}, no_plain));
    CHECK_FALSE(choose_sasl_mechanism({}, plain_ok));
}

TEST_CASE("sasl client: password map keys in Postfix's order", "[sasl_client]") {
    using V = std::vector<std::string>;
    CHECK(sasl_password_keys("u@Example.COM", false, "Mail.ISP.example", "[mail.isp.example]:587") ==
          V{"mail.isp.example", "[mail.isp.example]:587"});
    CHECK(sasl_password_keys("U@Example.com", true, "mx1.isp.example", "isp.example") ==
          V{"u@example.com", "@example.com", "mx1.isp.example", "isp.example"});
    // The null sender has no key; a key given twice is asked once.
    CHECK(sasl_password_keys("", true, "relay.example", "relay.example") == V{"relay.example"});
}

TEST_CASE("sasl client: username:password split at the first colon", "[sasl_client]") {
    auto a = parse_sasl_login("user@isp.example:pa:ss");
    CHECK(a.username == "user@isp.example");
    CHECK(a.password == "pa:ss");
    auto b = parse_sasl_login("justuser");
    CHECK(b.username == "justuser");
    CHECK(b.password.empty());
}

TEST_CASE("sasl client: PLAIN sends everything with AUTH", "[sasl_client]") {
    SaslClientExchange x("PLAIN", {"user", "secret"});
    CHECK(x.command() == "AUTH PLAIN " + base64_encode("\0user\0secret"s));
    // The server side reads it back.
    auto creds = parse_plain(base64_decode(x.command().substr(11)).value());
    REQUIRE(creds);
    CHECK(creds->authcid == "user");
    CHECK(creds->passwd == "secret");
    CHECK_FALSE(x.respond(""));  // nothing more to say
}

TEST_CASE("sasl client: LOGIN answers two challenges", "[sasl_client]") {
    SaslClientExchange x("LOGIN", {"user", "secret"});
    CHECK(x.command() == "AUTH LOGIN");
    CHECK(x.respond(base64_encode("Username:")).value() == base64_encode("user"));
    CHECK(x.respond(base64_encode("Password:")).value() == base64_encode("secret"));
    CHECK_FALSE(x.respond(base64_encode("More:")));
    SaslClientExchange bad("LOGIN", {"user", "secret"});
    auto r = bad.respond("not base64!");
    REQUIRE_FALSE(r);
    CHECK(r.error().text.starts_with("malformed SASL challenge from server"));
}
