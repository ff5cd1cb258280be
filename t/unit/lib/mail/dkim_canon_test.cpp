#include "mail/dkim_canon.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace kurir::mail;

namespace {

std::string body(DkimCanon canon, const std::vector<std::string>& lines, std::optional<uint64_t> limit = {}) {
    std::string out;
    DkimBodyCanon c(canon, [&](std::string_view b) { out += b; }, limit);
    for (const auto& l : lines) c.line(l);
    c.finish();
    return out;
}

}  // namespace

TEST_CASE("DKIM header canonicalization, relaxed and simple (RFC 6376 3.4.6's example)", "[dkim]") {
    CHECK(dkim_header(DkimCanon::relaxed, "A", " X") == "a:X\r\n");
    CHECK(dkim_header(DkimCanon::relaxed, "B ", " Y\t\r\n\tZ  ") == "b:Y Z\r\n");
    CHECK(dkim_header(DkimCanon::simple, "B ", " Y\t\n\tZ  ") == "B : Y\t\r\n\tZ  \r\n");
    CHECK(dkim_header(DkimCanon::relaxed, "Subject", "") == "subject:\r\n");
}

TEST_CASE("DKIM body canonicalization: white space, trailing empty lines, empty bodies", "[dkim]") {
    CHECK(body(DkimCanon::relaxed, {" C ", "D \t E", "", ""}) == " C\r\nD E\r\n");
    CHECK(body(DkimCanon::simple, {" C ", "D \t E", "", ""}) == " C \r\nD \t E\r\n");
    CHECK(body(DkimCanon::relaxed, {}).empty());
    CHECK(body(DkimCanon::relaxed, {"", " \t"}).empty());
    CHECK(body(DkimCanon::simple, {}) == "\r\n");
    CHECK(body(DkimCanon::simple, {"a", "", "b"}) == "a\r\n\r\nb\r\n");  // inner empty lines stay
    CHECK(body(DkimCanon::relaxed, {"abcdef"}, 3) == "abc");
}
