#include "mail/content_line.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("clean_content: what cleanup makes of a content line", "[content_line]") {
    std::string strip = parse_strip_characters("\\0\\001");
    CHECK(clean_content(std::string("a\0b\001c", 5), strip, true) == "abc");
    CHECK(clean_content("X-A\r: b\n.", strip, true) == "X-A : b .");
    CHECK(clean_content("X-A\r: b", strip, false) == "X-A\r: b");
    CHECK(clean_content(std::string("\0", 1), strip, true).empty());
    CHECK(clean_content("plain", "", true) == "plain");
}
