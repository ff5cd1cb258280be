#include "mail/content_line.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("strip_characters and mask_stray_cr_lf: what cleanup makes of a content line", "[content_line]") {
    std::string strip = parse_strip_characters("\\0\\001");
    CHECK(strip_characters(std::string("a\0b\001c", 5), strip) == "abc");
    CHECK(strip_characters(std::string("\0", 1), strip).empty());
    CHECK(strip_characters("plain", "") == "plain");
    std::string line = "X-A\r: b\n.";
    mask_stray_cr_lf(line);
    CHECK(line == "X-A : b .");
}
