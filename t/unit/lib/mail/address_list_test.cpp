#include "mail/address_list.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;
using V = std::vector<std::string>;

TEST_CASE("parse_address_list: mailboxes, groups, comments, quoting", "[address_list]") {
    struct Case {
        std::string value;
        V want;
    };
    std::vector<Case> cases = {
        {"", {}},
        {"   ", {}},
        {"a@b", {"a@b"}},
        {"a@b, c@d", {"a@b", "c@d"}},
        {"a@b,,c@d,", {"a@b", "c@d"}},
        {"Alice <a@b>", {"a@b"}},
        {"Alice <a@b>, \"Bob, Jr.\" <bob@x>", {"a@b", "bob@x"}},
        {"\"Smith, J\" <js@x>, plain@y", {"js@x", "plain@y"}},
        {"friends: a@b, c@d;", {"a@b", "c@d"}},
        {"friends: a@b, (comment) c@d;, e@f", {"a@b", "c@d", "e@f"}},
        {"undisclosed-recipients:;", {}},
        {"a@b (Alice)", {"a@b"}},
        {"(nested (comment)) a@b", {"a@b"}},
        {"\"quoted local\"@x.example (Real Name)", {"quoted local@x.example"}},
        {"<@r1,@r2:u@v>", {"u@v"}},
        {"Name <>", {}},
        {"postmaster", {"postmaster"}},
        {"Alice <a@b>\r\n\tBob <c@d>", {"a@b", "c@d"}},
        {"broken <a@b", {"a@b"}},
        {"<a@b>, <bad address@x>, c@d", {"a@b", "c@d"}},
    };
    for (const auto& c : cases) {
        INFO("value: " << c.value);
        CHECK(parse_address_list(c.value) == c.want);
    }
}

TEST_CASE("parse_address_list never returns empty or invalid addresses", "[address_list]") {
    for (std::string v : std::vector<std::string>{"<>", "<<>>", ",;:", "\"", "(", "<", "\"unterminated",
                                                  "(unterminated comment a@b", "a@", "@", "<a\x01@b>",
                                                  std::string("a\0@b", 4)}) {
        INFO("value: " << v);
        for (const auto& a : parse_address_list(v)) {
            CHECK(!a.empty());
            for (char c : a) CHECK(static_cast<unsigned char>(c) >= 0x20);
        }
    }
}
