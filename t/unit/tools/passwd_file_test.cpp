#include "tools/passwd_file.hpp"

#include <catch2/catch.hpp>

using namespace kurir::tools;

TEST_CASE("kurir-passwd: add, replace and remove a user's line", "[kurir_passwd]") {
    bool found = false;
    CHECK(passwd_source_update("", "alice", std::string("H1"), found) == "alice H1\n");
    CHECK_FALSE(found);
    std::string text = "# users\nalice H1\nbob H2\n";
    CHECK(passwd_source_update(text, "alice", std::string("H3"), found) == "# users\nalice H3\nbob H2\n");
    CHECK(found);
    CHECK(passwd_source_update(text, "carol", std::string("H4"), found) == text + "carol H4\n");
    CHECK_FALSE(found);
    CHECK(passwd_source_update(text, "bob", std::nullopt, found) == "# users\nalice H1\n");
    CHECK(found);
    // A key is a whole word; comments and continuations are never keys.
    CHECK(passwd_source_update("alice2 H\n#alice x\n  alice y\n", "alice", std::nullopt, found) ==
          "alice2 H\n#alice x\n  alice y\n");
    CHECK_FALSE(found);
    // A missing last newline is added; a duplicate line goes too.
    CHECK(passwd_source_update("a H\nb H", "a", std::string("N"), found) == "a N\nb H\n");
    CHECK(passwd_source_update("a H\na G\n", "a", std::string("N"), found) == "a N\n");
}

TEST_CASE("kurir-passwd: user names that can be table keys", "[kurir_passwd]") {
    CHECK(passwd_user_ok("alice"));
    CHECK(passwd_user_ok("alice@example.com"));
    for (const char* bad : {"", "#alice", "al ice", "al\tice", "al\nice"}) CHECK_FALSE(passwd_user_ok(bad));
}
