#include "mail/sasl.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;
using namespace std::string_literals;

TEST_CASE("base64: the original variant, strictly", "[sasl]") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("\0u\0p"s) == "AHUAcA==");
    CHECK(base64_decode("AHUAcA==").value() == "\0u\0p"s);
    CHECK(base64_decode("").value() == "");
    CHECK(base64_decode("dXNlcg==").value() == "user");
    for (const char* bad : {"AHUAcA", "AHUAcA=", "AHU AcA==", "AHUAcA==\n", "A-_=", "====", "dXNlcg==dXNl", "!!!!",
                            "dXNlcg=a"})
        CHECK_FALSE(base64_decode(bad));
    // Bytes above 0x7f that libsodium would read as letters (found by the fuzzer).
    CHECK_FALSE(base64_decode("AHV\217\217\217\217\217\217\217\217\217\217\217\217zZXIAc2VjcmV0"));
    CHECK_FALSE(base64_decode("dXNl\xe3\xa1=="));
    // Round trip over every byte value.
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    CHECK(base64_decode(base64_encode(all)).value() == all);
}

TEST_CASE("parse_auth_args: mechanism and optional initial response", "[sasl]") {
    auto a = parse_auth_args("plain AHUAcA==");
    REQUIRE(a);
    CHECK(a->mechanism == "PLAIN");
    CHECK(a->initial.value() == "AHUAcA==");
    a = parse_auth_args("LOGIN");
    REQUIRE(a);
    CHECK(a->mechanism == "LOGIN");
    CHECK_FALSE(a->initial);
    a = parse_auth_args("PLAIN =");
    REQUIRE(a);
    CHECK(a->initial.value() == "=");
    CHECK(parse_auth_args("DIGEST-MD5").value().mechanism == "DIGEST-MD5");
    for (const char* bad : {"", " PLAIN", "PLAIN ", "PLAIN a b", "PL/AIN", "ABCDEFGHIJKLMNOPQRSTU", "PLAIN\tx"})
        CHECK_FALSE(parse_auth_args(bad));
}

TEST_CASE("parse_sasl_response: cancel, empty, base64, garbage", "[sasl]") {
    CHECK(std::holds_alternative<SaslCancel>(parse_sasl_response("*")));
    CHECK(std::get<std::string>(parse_sasl_response("=")) == "");
    CHECK(std::get<std::string>(parse_sasl_response("dXNlcg==")) == "user");
    CHECK(std::holds_alternative<SaslBadBase64>(parse_sasl_response("")));
    CHECK(std::holds_alternative<SaslBadBase64>(parse_sasl_response("dXNlcg")));
    CHECK(std::holds_alternative<SaslBadBase64>(parse_sasl_response("**")));
}

TEST_CASE("parse_plain: authzid NUL authcid NUL passwd (RFC 4616)", "[sasl]") {
    auto c = parse_plain("\0user\0secret"s);
    REQUIRE(c);
    CHECK(c->authzid == "");
    CHECK(c->authcid == "user");
    CHECK(c->passwd == "secret");
    c = parse_plain("admin\0user\0pw"s);
    REQUIRE(c);
    CHECK(c->authzid == "admin");
    for (auto bad : {"user"s, "\0user"s, "\0\0pw"s, "\0user\0"s, "\0user\0pw\0x"s, "\0"s + std::string(256, 'u') + "\0pw"s,
                     "\0u\0"s + std::string(256, 'p')})
        CHECK_FALSE(parse_plain(bad));
}

TEST_CASE("MechanismExchange: PLAIN with and without initial response", "[sasl]") {
    using M = MechanismExchange;
    M m;
    auto s = M::start("PLAIN", "\0u\0p"s, m);
    REQUIRE(std::holds_alternative<M::Credentials>(s));
    CHECK(std::get<M::Credentials>(s).username == "u");
    CHECK(std::get<M::Credentials>(s).password == "p");

    s = M::start("PLAIN", std::nullopt, m);
    REQUIRE(std::holds_alternative<M::Challenge>(s));
    CHECK(std::get<M::Challenge>(s).bytes == "");
    s = m.next("u\0u\0p"s);
    REQUIRE(std::holds_alternative<M::Credentials>(s));
    CHECK(std::get<M::Credentials>(s).username == "u");
    // Finished: more input is a failure, not a second login.
    CHECK(std::holds_alternative<M::Failure>(m.next("\0u\0p"s)));

    // Acting as someone else is refused.
    CHECK(std::holds_alternative<M::Failure>(M::start("PLAIN", "other\0u\0p"s, m)));
    CHECK(std::holds_alternative<M::Failure>(M::start("PLAIN", "garbage"s, m)));
    CHECK(std::holds_alternative<M::Failure>(M::start("CRAM-MD5", std::nullopt, m)));
}

TEST_CASE("MechanismExchange: LOGIN asks for user name and password", "[sasl]") {
    using M = MechanismExchange;
    M m;
    auto s = M::start("LOGIN", std::nullopt, m);
    REQUIRE(std::holds_alternative<M::Challenge>(s));
    CHECK(std::get<M::Challenge>(s).bytes == "Username:");
    s = m.next("user");
    REQUIRE(std::holds_alternative<M::Challenge>(s));
    CHECK(std::get<M::Challenge>(s).bytes == "Password:");
    s = m.next("secret");
    REQUIRE(std::holds_alternative<M::Credentials>(s));
    CHECK(std::get<M::Credentials>(s).username == "user");
    CHECK(std::get<M::Credentials>(s).password == "secret");

    // The initial response is the user name.
    s = M::start("LOGIN", std::string("user"), m);
    REQUIRE(std::holds_alternative<M::Challenge>(s));
    CHECK(std::get<M::Challenge>(s).bytes == "Password:");
    CHECK(std::holds_alternative<M::Credentials>(m.next("pw")));

    M::start("LOGIN", std::nullopt, m);
    CHECK(std::holds_alternative<M::Failure>(m.next("")));
    M::start("LOGIN", std::nullopt, m);
    m.next("u");
    CHECK(std::holds_alternative<M::Failure>(m.next("p\0w"s)));
}
