#include "mail/pgsql_query.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

namespace {

// As PQescapeStringConn with standard_conforming_strings: quotes doubled.
SqlEscaper doubling() {
    return [](std::string_view s) -> kurir::util::Result<std::string> {
        std::string out;
        for (char c : s) {
            if (c == '\'') out += '\'';
            out += c;
        }
        return out;
    };
}

std::optional<std::string> q(std::string_view query, std::string_view key) {
    return expand_pgsql_query(query, key, doubling()).value();
}

}  // namespace

TEST_CASE("pgsql query: %s %u %d %1..%9 %% expanded from the key", "[pgsql]") {
    CHECK(q("SELECT v FROM t WHERE k='%s'", "Alice@mail.example.com") == "SELECT v FROM t WHERE k='Alice@mail.example.com'");
    CHECK(q("%u|%d|%1|%2|%3|%%|%S|%U|%D", "al@mail.example.com") == "al|mail.example.com|com|example|mail|%|al@mail.example.com|al|mail.example.com");
    CHECK(q("'%u'", "postmaster") == "'postmaster'");  // no "@": the whole key
    CHECK(!q("'%d'", "postmaster"));                   // no domain: no query
    CHECK(!q("'%u'", "@example.com"));                 // empty local part
    CHECK(!q("'%4'", "al@mail.example.com"));          // too few components
    CHECK(!q("'%1'", "postmaster"));
    CHECK(q("'%u' '%d'", "a@b@example.com") == "'a@b' 'example.com'");  // the last "@"
    CHECK(!expand_pgsql_query("'%x'", "k", doubling()));
}

TEST_CASE("pgsql query: every piece of the key goes through the escaper", "[pgsql]") {
    // A key that tries to end the string and add SQL stays inside the quotes.
    CHECK(q("SELECT 1 WHERE k='%s'", "x' OR '1'='1") == "SELECT 1 WHERE k='x'' OR ''1''=''1'");
    CHECK(q("k='%u' AND d='%d' AND t='%1'", "o'k@ev'il.com") == "k='o''k' AND d='ev''il.com' AND t='com'");
    // The query text itself is not escaped.
    CHECK(q("SELECT 'it''s' WHERE k='%s'", "a") == "SELECT 'it''s' WHERE k='a'");
    SqlEscaper refusing = [](std::string_view) -> kurir::util::Result<std::string> {
        return kurir::util::fail("invalid byte sequence");
    };
    auto r = expand_pgsql_query("'%s'", "k\xff", refusing);
    REQUIRE(!r);
    CHECK(r.error().text == "invalid byte sequence");
}

TEST_CASE("pgsql query: domain limits the keys looked up", "[pgsql]") {
    const std::vector<std::string> domains{"example.com", "example.net"};
    CHECK(pgsql_domain_allows({}, "anything"));
    CHECK(pgsql_domain_allows(domains, "alice@example.com"));
    CHECK(pgsql_domain_allows(domains, "alice@EXAMPLE.net"));
    CHECK(!pgsql_domain_allows(domains, "alice@example.org"));
    CHECK(!pgsql_domain_allows(domains, "alice@sub.example.com"));
    CHECK(!pgsql_domain_allows(domains, "alice"));
    CHECK(!pgsql_domain_allows(domains, "@example.com"));
}

TEST_CASE("pgsql result: fields through result_format, joined with commas", "[pgsql]") {
    using Rows = std::vector<PgsqlRow>;
    const Rows rows{{"bob@example.com", std::nullopt}, {"", "carol@example.net"}, {"dave"}};
    CHECK(format_pgsql_result(rows, "%s", "k", 0).value() == "bob@example.com,carol@example.net,dave");
    // %d leaves out a value without a domain; upper case letters are the key's.
    CHECK(format_pgsql_result(rows, "%d/%u/", "k", 0).value() == "example.com/bob/,example.net/carol/");
    CHECK(format_pgsql_result(rows, "%U:%s", "al@x.org", 0).value() == "al:bob@example.com,al:carol@example.net,al:dave");
    CHECK(format_pgsql_result(rows, "smtp:[%s]%%", "k", 0).value() ==
          "smtp:[bob@example.com]%,smtp:[carol@example.net]%,smtp:[dave]%");
    CHECK(format_pgsql_result(rows, "%1", "al@mail.example.org", 0).value() == "org,org,org");
    // Nothing left: not found.
    CHECK(!format_pgsql_result({}, "%s", "k", 0).value());
    CHECK(!format_pgsql_result(Rows{{std::nullopt}, {""}}, "%s", "k", 0).value());
    CHECK(!format_pgsql_result(Rows{{"dave"}}, "%d", "k", 0).value());
    // expansion_limit: more values is an error (the mail is deferred).
    CHECK(format_pgsql_result(rows, "%s", "k", 3).value() == "bob@example.com,carol@example.net,dave");
    auto over = format_pgsql_result(rows, "%s", "k", 2);
    REQUIRE(!over);
    CHECK(over.error().text == "k: expansion limit exceeded (2 values)");
}
