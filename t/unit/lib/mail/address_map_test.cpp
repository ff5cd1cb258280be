#include "mail/address_map.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace kurir;
using namespace kurir::mail;
using Addrs = std::vector<std::string>;

namespace {

Config config() {
    return Config::from_text("myhostname = mx.example\nmydestination = mx.example\nrecipient_delimiter = +\n", "/tmp/x")
        .value();
}

struct Table {
    std::map<std::string, std::string> entries;
    std::vector<std::string> asked;
    KeyLookup lookup() {
        return [this](std::string_view key, bool) -> util::Result<std::optional<std::string>> {
            asked.emplace_back(key);
            if (key == "@broken.example") return util::fail("hash:/t: read error");
            auto it = entries.find(std::string(key));
            if (it == entries.end()) return std::nullopt;
            return it->second;
        };
    }
};

}  // namespace

TEST_CASE("address map: Postfix's key order, the local part only in local domains", "[address_map]") {
    auto cfg = config();
    Table t;
    CHECK_FALSE(address_map(cfg, t.lookup(), "User+Ext@MX.example").value());
    CHECK(t.asked == std::vector<std::string>{"user+ext@mx.example", "user@mx.example", "user+ext", "user", "@mx.example"});
    t.asked.clear();
    CHECK_FALSE(address_map(cfg, t.lookup(), "user@other.example").value());
    CHECK(t.asked == std::vector<std::string>{"user@other.example", "@other.example"});
}

TEST_CASE("address map: lists, @domain results, extensions put back, errors", "[address_map]") {
    auto cfg = config();
    Table t{{{"a@v.example", "b@x.example, <c@y.example>  d"},
             {"@alias.example", "@real.example"},
             {"bob@v.example", "robert@x.example"},
             {"@v.example", "catchall@x.example"}}, {}};
    CHECK(address_map(cfg, t.lookup(), "a@v.example").value() == Addrs{"b@x.example", "c@y.example", "d"});
    CHECK(address_map(cfg, t.lookup(), "joe+x@alias.example").value() == Addrs{"joe+x@real.example"});
    CHECK(address_map(cfg, t.lookup(), "bob+list@v.example").value() == Addrs{"robert+list@x.example"});
    CHECK(address_map(cfg, t.lookup(), "zed@v.example").value() == Addrs{"catchall@x.example"});
    CHECK_FALSE(address_map(cfg, t.lookup(), "u@broken.example"));
}
