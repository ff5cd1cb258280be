#include "mail/header_addresses.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace kurir;
using namespace kurir::mail;

namespace {

std::string rewrite(std::string_view value, std::vector<std::string>* seen = nullptr) {
    static const std::map<std::string, std::string> table{{"joe@host.example", "joe.smith@example.com"},
                                                          {"ann", "ann@example.com"},
                                                          {"x y@example.com", "plain@example.com"},
                                                          {"plain@example.com", "odd name@example.com"}};
    auto r = rewrite_address_list(value, [&](std::string_view a) -> util::Result<std::string> {
        if (seen) seen->emplace_back(a);
        auto it = table.find(std::string(a));
        return it == table.end() ? std::string(a) : it->second;
    });
    REQUIRE(r);
    return *r;
}

}  // namespace

TEST_CASE("header addresses: each mailbox rewritten, the rest kept byte for byte", "[header_addresses]") {
    struct Case {
        std::string in, out;
    };
    for (const auto& c : std::vector<Case>{
             {" joe@host.example", " joe.smith@example.com"},
             {" Joe Smith <joe@host.example>", " Joe Smith <joe.smith@example.com>"},
             {" \"Smith, Joe\" <joe@host.example> (work), ann", " \"Smith, Joe\" <joe.smith@example.com> (work), ann@example.com"},
             {" joe@host.example (Joe <not@this>)", " joe.smith@example.com (Joe <not@this>)"},
             {" friends: joe@host.example, Ann <ann>;, other@x.example",
              " friends: joe.smith@example.com, Ann <ann@example.com>;, other@x.example"},
             {" undisclosed-recipients:;", " undisclosed-recipients:;"},
             {" first@x.example,\n\tjoe@host.example", " first@x.example,\n\tjoe.smith@example.com"},
             {" \"x y\"@example.com", " plain@example.com"},
             {" <plain@example.com>", " <\"odd name\"@example.com>"},
             {" John Smith", " John Smith"},
             {" <>", " <>"},
             {"", ""},
         }) {
        INFO(c.in);
        CHECK(rewrite(c.in) == c.out);
    }
    std::vector<std::string> seen;
    rewrite(" Joe <joe@host.example>, \"a, b\" <ann>, group: c@d;", &seen);
    CHECK(seen == std::vector<std::string>{"joe@host.example", "ann", "c@d"});
}

TEST_CASE("header addresses: an error stops the rewrite; hostile input never breaks it", "[header_addresses]") {
    auto failing = [](std::string_view) -> util::Result<std::string> { return util::fail("hash:/t: read error"); };
    auto r = rewrite_address_list(" a@b", failing);
    REQUIRE_FALSE(r);
    CHECK(r.error().text == "hash:/t: read error");
    for (std::string_view hostile : {" <unterminated@x", " \"unterminated", " (((", " \\", " :;:;,,<>", " @", " a@"})
        CHECK(rewrite_address_list(hostile, [](std::string_view a) { return util::Result<std::string>(std::string(a)); }));
}

TEST_CASE("header addresses: Postfix's sender and recipient headers", "[header_addresses]") {
    for (auto n : {"From", "sender", "Reply-To", "Errors-To", "Resent-From", "Resent-Sender", "Resent-Reply-To",
                   "Return-Receipt-To", "Disposition-Notification-To"})
        CHECK(header_address_class(n) == HeaderAddressClass::sender);
    for (auto n : {"To", "CC", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc", "Apparently-To"})
        CHECK(header_address_class(n) == HeaderAddressClass::recipient);
    for (auto n : {"Subject", "Received", "Delivered-To", "Return-Path", "Message-ID"})
        CHECK(header_address_class(n) == HeaderAddressClass::none);
}
