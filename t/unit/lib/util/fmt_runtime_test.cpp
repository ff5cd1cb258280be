// Linked like sendmail and kurir-drop (mail_static_dep: fmt's compiled part
// from lib/util/fmt_runtime.cpp, no libfmt.so): what these programs may
// use of fmt links, and formats as the shared library does.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/xchar.h>

#include <locale>
#include <string>

TEST_CASE("fmt without the shared library: plain, locale, wide and floating point", "[fmt]") {
    CHECK(fmt::format("{}-{:x}-{:>4}", 7, 255u, "ab") == "7-ff-  ab");
    CHECK(fmt::format("{} {}", 0.5, 1.5f) == "0.5 1.5");
    CHECK(fmt::format(std::locale::classic(), "{:L}", 1234567) == "1234567");
    CHECK(fmt::format(L"{}", 42) == L"42");
    CHECK(fmt::format(std::locale::classic(), L"{:L}", 1234) == L"1234");
    CHECK_THROWS_AS(fmt::format(fmt::runtime("{:d}"), "text"), fmt::format_error);
}
