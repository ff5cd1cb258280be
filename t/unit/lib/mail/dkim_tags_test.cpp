#include "mail/dkim_tags.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("DKIM tag lists: names, values, folding white space", "[dkim]") {
    auto tags = parse_dkim_tags(" v = 1 ;a=rsa-sha256;\r\n\t b=abc\r\n def ; x=;");
    REQUIRE(tags);
    REQUIRE(tags->size() == 4);
    CHECK((*tags)[0].name == "v");
    CHECK((*tags)[0].value == "1");
    CHECK((*tags)[2].value == "abc\r\n def");  // folding inside a value is kept
    CHECK((*tags)[3].value.empty());
    CHECK(parse_dkim_tags("")->empty());
    CHECK_FALSE(parse_dkim_tags("v=1; v=1"));      // twice
    CHECK_FALSE(parse_dkim_tags("1v=1"));          // name starts with a digit
    CHECK_FALSE(parse_dkim_tags("v 1"));           // no =
    CHECK_FALSE(parse_dkim_tags("v=a\r\nb"));      // a line end without white space after it
    CHECK_FALSE(parse_dkim_tags(std::string("v=a\0b", 5)));
}

TEST_CASE("DKIM-Signature: required tags and their checks", "[dkim]") {
    const std::string good = "v=1; a=rsa-sha256; c=relaxed/relaxed; d=Example.COM; s=sel;\n\t"
                             "h=From:To : subject; bh=YWJj; b=ZGVm\n\t ZGVm; t=100; x=200; i=joe@sub.example.com";
    auto sig = parse_dkim_signature(good);
    REQUIRE(sig);
    CHECK(sig->domain == "example.com");
    CHECK(sig->headers == std::vector<std::string>{"from", "to", "subject"});
    CHECK(sig->signature == "ZGVmZGVm");
    CHECK(sig->header_canon == "relaxed");
    CHECK(sig->identity == "joe@sub.example.com");
    CHECK(*sig->expiration == 200);
    auto simple = parse_dkim_signature("v=1; a=ed25519-sha256; d=e.org; s=s; h=from; bh=YWJj; b=");
    REQUIRE(simple);
    CHECK(simple->header_canon == "simple");
    CHECK(simple->body_canon == "simple");
    CHECK(simple->identity == "@e.org");

    CHECK_FALSE(parse_dkim_signature("v=1; a=rsa-sha256; d=e.org; s=s; h=to; bh=YWJj; b=YWJj"));  // From not signed
    CHECK_FALSE(parse_dkim_signature("v=2; a=rsa-sha256; d=e.org; s=s; h=from; bh=YWJj; b=YWJj"));
    CHECK_FALSE(parse_dkim_signature("v=1; a=rsa-md5; d=e.org; s=s; h=from; bh=YWJj; b=YWJj"));
    CHECK_FALSE(parse_dkim_signature("v=1; a=rsa-sha256; d=e.org; s=s; h=from; bh=YW!j; b=YWJj"));
    CHECK_FALSE(parse_dkim_signature("v=1; a=rsa-sha256; d=e.org; s=s; h=from; bh=YWJj; b=YWJj; i=a@evil.org"));
    CHECK_FALSE(parse_dkim_signature("v=1; a=rsa-sha256; d=e.org; s=s; h=from; bh=YWJj; b=YWJj; i=a@xe.org"));
    CHECK_FALSE(parse_dkim_signature("v=1; a=rsa-sha256; d=e.org; s=s; h=from::to; bh=YWJj; b=YWJj"));
    CHECK_FALSE(parse_dkim_signature("v=1; a=rsa-sha256; d=e.org; s=s; h=from; bh=YWJj; b=YWJj; t=9; x=8"));
    CHECK_FALSE(parse_dkim_signature("v=1; a=rsa-sha256; d=e.org; s=s; h=from; bh=YWJj; b=YWJj; l=-1"));
    CHECK_FALSE(parse_dkim_signature("v=1; a=rsa-sha256; d=e.org; h=from; bh=YWJj; b=YWJj"));  // no s=
}

TEST_CASE("DKIM key records", "[dkim]") {
    auto key = parse_dkim_key_record("v=DKIM1; k=ed25519; t=y:s; p=YWJj ZGVm");
    REQUIRE(key);
    CHECK(key->key_type == "ed25519");
    CHECK(key->public_key == "YWJjZGVm");
    CHECK(key->testing);
    CHECK(key->strict_identity);
    auto revoked = parse_dkim_key_record("p=");
    REQUIRE(revoked);
    CHECK(revoked->key_type == "rsa");
    CHECK(revoked->public_key.empty());
    CHECK_FALSE(parse_dkim_key_record("k=rsa; v=DKIM1; p=YWJj"));  // v= must come first
    CHECK_FALSE(parse_dkim_key_record("v=DKIM1; k=rsa"));         // no p=
}
