#include "mail/auth_results.hpp"

#include "mail/record.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("Authentication-Results: one result per line, properties and comments", "[authres]") {
    AuthResult pass{"dkim", "pass", "", {{"header.d", "example.org"}, {"header.s", "sel"}, {"header.b", "abcdefgh"}}};
    CHECK(format_auth_results("mx.example.net", {pass}) ==
          "Authentication-Results: mx.example.net;\n\tdkim=pass header.d=example.org header.s=sel header.b=abcdefgh");
    AuthResult fail{"dkim", "fail", "body hash did not verify", {{"header.d", "example.com"}}};
    CHECK(format_auth_results("mx.example.net", {pass, fail}) ==
          "Authentication-Results: mx.example.net;\n"
          "\tdkim=pass header.d=example.org header.s=sel header.b=abcdefgh;\n"
          "\tdkim=fail (body hash did not verify) header.d=example.com");
    CHECK(format_auth_results("mx.example.net", {{"dkim", "none", "", {}}}) ==
          "Authentication-Results: mx.example.net;\n\tdkim=none");
    // RFC 8601 2.2: no method at all is "none" after the authserv-id.
    CHECK(format_auth_results("mx.example.net", {}) == "Authentication-Results: mx.example.net; none");
}

TEST_CASE("Authentication-Results: values that are not tokens are quoted, nothing ends the field", "[authres]") {
    // '/' and '=' are RFC 2045 tspecials: a base64 prefix is quoted.
    CHECK(auth_results_value("ab/c+d=") == "\"ab/c+d=\"");
    CHECK(auth_results_value("AbCd+eFg") == "AbCd+eFg");
    CHECK(auth_results_value("@example.com") == "\"@example.com\"");
    CHECK(auth_results_value("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(auth_results_value("") == "\"\"");
    // A selector with a line end in it cannot start a header of its own.
    CHECK(auth_results_value("sel\r\nBcc: x@y") == "\"sel??Bcc: x@y\"");
    CHECK(auth_results_value("caf\xc3\xa9") == "\"caf??\"");  // "?" is a tspecial
    std::string field = format_auth_results("mx", {{"dkim", "fail", "why (really)\n\\ not", {{"header.s", "a\nb"}}}});
    CHECK(field == "Authentication-Results: mx;\n\tdkim=fail (why \\(really\\)?\\\\ not) header.s=\"a?b\"");
    CHECK(is_prepend_field(field));  // what a P record may carry to cleanup
}

TEST_CASE("Authentication-Results: long lines are folded between properties", "[authres]") {
    std::string d(60, 'd');
    std::string field = format_auth_results("mx.example.net", {{"dkim", "pass", "", {{"header.d", d + ".org"},
                                                                                  {"header.s", "selector2026"},
                                                                                  {"header.b", "abcdefgh"}}}});
    CHECK(field == "Authentication-Results: mx.example.net;\n\tdkim=pass\n\theader.d=" + d +
                       ".org\n\theader.s=selector2026 header.b=abcdefgh");
    size_t start = 0;
    while (start < field.size()) {  // every line within 78 characters
        size_t nl = field.find('\n', start);
        size_t end = nl == std::string::npos ? field.size() : nl;
        CHECK(end - start <= 78);
        start = end + 1;
    }
    CHECK(is_prepend_field(field));
}

TEST_CASE("Authentication-Results: the authserv-id of a field the message carries", "[authres]") {
    CHECK(auth_results_authserv_id(" mx.example.net; dkim=pass header.d=x") == "mx.example.net");
    CHECK(auth_results_authserv_id(" MX.Example.NET 1; spf=pass") == "MX.Example.NET");  // with a version
    CHECK(auth_results_authserv_id("\n\tmx.example.net;\n\tdkim=pass") == "mx.example.net");
    CHECK(auth_results_authserv_id(" (a (nested) comment) mx.example.net; none") == "mx.example.net");
    CHECK(auth_results_authserv_id(" \"mx.example.net\"; none") == "mx.example.net");
    CHECK(auth_results_authserv_id(" \"mx\\\".x\"; none") == "mx\".x");
    CHECK(auth_results_authserv_id("mx.example.net;") == "mx.example.net");
    CHECK_FALSE(auth_results_authserv_id(""));
    CHECK_FALSE(auth_results_authserv_id("  ; dkim=pass"));
    CHECK_FALSE(auth_results_authserv_id(" (open comment mx.example.net; none"));
    CHECK_FALSE(auth_results_authserv_id(" \"unterminated; none"));
}

TEST_CASE("Authentication-Results: a pair too long for a line is cut after its =", "[authres]") {
    // every byte escaped: a method and a result of 256 quotes are 514 bytes each
    std::string quotes(300, '"');
    std::string field = format_auth_results("mx.test", {{quotes, quotes, "", {{quotes, quotes}}}});
    for (size_t start = 0; start < field.size();) {
        size_t nl = field.find('\n', start);
        size_t end = nl == std::string::npos ? field.size() : nl;
        CHECK(end - start <= 998);
        start = end + 1;
    }
    CHECK(is_prepend_field(field));
    CHECK(field.find("=\n\t\"\\\"") != std::string::npos);
}
