#include "mail/config_trust.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("config_dir_listed: alternate_config_directories and multi_instance_directories, as Postfix", "[config]") {
    struct Case {
        const char* what;
        const char* text;
        bool listed;
    };
    auto c = GENERATE(values<Case>({
        {"listed", "alternate_config_directories = /srv/a /srv/b\n", true},
        {"in a list with commas", "alternate_config_directories = /srv/x, /srv/b,/srv/y\n", true},
        {"multi_instance_directories", "multi_instance_directories = /srv/b\n", true},
        {"on a continuation line", "alternate_config_directories =\n  /srv/x\n\t/srv/b\nmyhostname = h\n", true},
        {"without spaces", "alternate_config_directories=/srv/b\n", true},
        {"after lines it cannot read", "garbage line\n= x\nalternate_config_directories = /srv/b\n", true},
        {"not listed", "alternate_config_directories = /srv/a /srv/bb /srv\n", false},
        {"a prefix is not the directory", "alternate_config_directories = /srv/b/\n", false},
        {"another parameter", "mydestination = /srv/b\n", false},
        {"in a comment", "# alternate_config_directories = /srv/b\n", false},
        {"a continuation of another parameter", "mydestination = x\n  alternate_config_directories = /srv/b\n", false},
        {"empty", "", false},
    }));
    INFO(c.what);
    CHECK(config_dir_listed("/srv/b", c.text) == c.listed);
}

TEST_CASE("caller_config_dir: -c, else KURIR_CONFIG, else the compiled-in default", "[config]") {
    ::unsetenv("KURIR_CONFIG");
    CHECK(caller_config_dir(std::nullopt) == compiled_config_dir());
    CHECK(caller_config_dir("/x") == "/x");
    ::setenv("KURIR_CONFIG", "/from/env", 1);
    CHECK(caller_config_dir(std::nullopt) == "/from/env");
    CHECK(caller_config_dir("/x") == "/x");
    ::unsetenv("KURIR_CONFIG");
}
