#include "mail/maps.hpp"
#include "mail/pgsql_cf.hpp"
#include "mail/pgsql_table.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace kurir::mail;

TEST_CASE("pgsql .cf: pgsql_table(5)'s parameters in main.cf syntax", "[pgsql]") {
    auto cf = parse_pgsql_cf("# users\nhosts = db1.example.com, inet:db2:6432\n  unix:/run/postgresql [::1]:5433\n"
                             "user = kurir\npassword = s3cret\ndbname = mail\n"
                             "query = SELECT maildir FROM users\n  WHERE address = '%s'\n"
                             "result_format = %d/%u/\ndomain = Example.COM example.net\nexpansion_limit = 1\n"
                             "connect_timeout = 3\n",
                             "/t/users.cf");
    REQUIRE(cf);
    REQUIRE(cf->hosts.size() == 4);
    CHECK(cf->hosts[0] == PgsqlHost{PgsqlHost::Kind::inet, "db1.example.com", ""});
    CHECK(cf->hosts[1] == PgsqlHost{PgsqlHost::Kind::inet, "db2", "6432"});
    CHECK(cf->hosts[2] == PgsqlHost{PgsqlHost::Kind::unix_socket, "/run/postgresql", ""});
    CHECK(cf->hosts[3] == PgsqlHost{PgsqlHost::Kind::inet, "::1", "5433"});
    CHECK(cf->user == "kurir");
    CHECK(cf->password == "s3cret");
    CHECK(cf->dbname == "mail");
    CHECK(cf->query == "SELECT maildir FROM users WHERE address = '%s'");
    CHECK(cf->result_format == "%d/%u/");
    CHECK(cf->domains == std::vector<std::string>{"example.com", "example.net"});
    CHECK(cf->expansion_limit == 1);
    CHECK(cf->connect_timeout == 3);
    CHECK(cf->encoding == "UTF8");

    auto dflt = parse_pgsql_cf("dbname = mail\nquery = SELECT 1 WHERE '%s' = 'x'\n", "/t/d.cf");
    REQUIRE(dflt);
    CHECK(dflt->hosts == std::vector<PgsqlHost>{PgsqlHost{PgsqlHost::Kind::inet, "localhost", ""}});
    CHECK(dflt->result_format == "%s");
    CHECK(dflt->expansion_limit == 0);
    CHECK(parse_pgsql_host("postgresql://u@db/mail?sslmode=require")->kind == PgsqlHost::Kind::uri);
    CHECK(parse_pgsql_cf("hosts = postgresql://db/mail\nquery = SELECT '%s'\n", "/t/u.cf"));
}

TEST_CASE("pgsql .cf: errors name the file and the parameter", "[pgsql]") {
    struct Case {
        const char* text;
        const char* error;
    };
    const Case cases[] = {
        {"dbname = mail\n", "/t/x.cf: query: missing"},
        {"dbname = mail\nquery = SELECT '%x'\n", "/t/x.cf: query: invalid % sequence \"%x\""},
        {"dbname = mail\nquery = SELECT '%s' %\n", "/t/x.cf: query: invalid % sequence at the end"},
        {"dbname = mail\nquery = SELECT '%s'\nresult_format = %q\n", "/t/x.cf: result_format: invalid % sequence"},
        {"query = SELECT '%s'\n", "/t/x.cf: dbname: missing"},
        {"dbname = m\nquery = SELECT '%s'\nhosts = unix:run\n", "/t/x.cf: hosts: bad host \"unix:run\""},
        {"dbname = m\nquery = SELECT '%s'\nhosts = db:99999\n", "/t/x.cf: hosts: bad host \"db:99999\""},
        {"dbname = m\nquery = SELECT '%s'\nhosts = db:\n", "/t/x.cf: hosts: bad host \"db:\""},
        {"dbname = m\nquery = SELECT '%s'\nhosts = [::1\n", "/t/x.cf: hosts: bad host \"[::1\""},
        {"dbname = m\nquery = SELECT '%s'\nexpansion_limit = -1\n", "/t/x.cf: expansion_limit: bad number"},
        {"dbname = m\nquery = SELECT '%s'\ndomain = hash:/x\n", "/t/x.cf: domain: \"hash:/x\": tables"},
        {"dbname = m\nquery = SELECT '%s'\nhots = db\n", "/t/x.cf: hots: unknown pgsql_table parameter"},
        {"dbname = m\ntable = users\nselect_field = x\n", "/t/x.cf: select_field: the legacy"},
        {"dbname = m\nquery SELECT\n", "/t/x.cf:2: missing '='"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto cf = parse_pgsql_cf(c.text, "/t/x.cf");
        REQUIRE(!cf);
        CHECK_THAT(cf.error().text, Catch::StartsWith(c.error));
    }
}

TEST_CASE("pgsql: a table whose server cannot be reached answers an error, never \"not found\"", "[pgsql]") {
    kurir::test::TempDir dir;
    // A socket directory with no server in it: the connection fails at once.
    std::ofstream(dir.path() + "/users.cf") << "hosts = unix:" << dir.path() << " unix:" << dir.path()
                                            << "/also-none\ndbname = mail\nquery = SELECT 'x' WHERE '%s' <> ''\n"
                                               "domain = example.com\n";
    auto maps = MapList::open({"pgsql:" + dir.path() + "/users.cf"});
    REQUIRE(maps);
    CHECK(maps->warnings().empty());
    auto v = maps->lookup("alice@example.com");
    REQUIRE(!v);
    CHECK_THAT(v.error().text, Catch::StartsWith("pgsql:" + dir.path() + "/users.cf: lookup alice@example.com: connect to unix:" + dir.path() + ": "));
    CHECK_THAT(v.error().text, Catch::Contains("; connect to unix:" + dir.path() + "/also-none: "));
    CHECK(!maps->lookup_partial("alice@EXAMPLE.com"));
    // Keys outside "domain" are not looked up at all: "not found".
    auto other = maps->lookup("alice@example.org");
    REQUIRE(other);
    CHECK(!*other);
    // A .cf that cannot be read or parsed makes the list warn (callers defer).
    auto broken = MapList::open({"pgsql:" + dir.path() + "/missing.cf"});
    REQUIRE(broken);
    REQUIRE(broken->warnings().size() == 1);
    CHECK_THAT(broken->warnings()[0], Catch::Contains("missing.cf"));
    CHECK(map_matches_whole_key_only("pgsql:/x.cf") == false);
    CHECK(parse_map_spec("pgsql:/x.cf")->table_file() == "/x.cf");
    CHECK(!parse_map_spec("pgsql:x.cf"));
}
