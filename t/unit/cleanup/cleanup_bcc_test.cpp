#include "cleanup/cleanup_message.hpp"

#include "mail/queue_file.hpp"
#include "mail/record.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace kurir;
using Addrs = std::vector<std::string>;

namespace {

cleanup::AliasLookup table(std::map<std::string, std::string> entries) {
    return [entries = std::move(entries)](std::string_view a) -> util::Result<std::optional<Addrs>> {
        if (a == "broken@example.com") return util::fail("hash:/b: read error");
        auto it = entries.find(std::string(a));
        if (it == entries.end()) return std::nullopt;
        return Addrs{it->second};
    };
}

util::Result<std::string> canon(std::string_view a) {
    std::string s(a);
    if (s.find('@') == std::string::npos) s += "@example.com";
    return s;
}

std::string stream(const std::string& origin, const std::string& sender, const Addrs& rcpts) {
    using namespace mail;
    std::string s;
    rec_append(s, rec::attr, "origin=" + origin);
    rec_append(s, rec::sender, sender);
    for (const auto& r : rcpts) rec_append(s, rec::rcpt, r);
    rec_append(s, rec::message, "");
    rec_append_line(s, "Subject: bcc", 4096);
    rec_append_line(s, "", 4096);
    rec_append(s, rec::content_end, "");
    return s;
}

util::Result<Addrs> recipients(const std::string& extra, const cleanup::RewriteTables& rw, const std::string& bytes,
                               std::string* file = nullptr) {
    auto cfg = mail::Config::from_text("myhostname = mx.example\nmyorigin = example.com\n" + extra, "/tmp/x").value();
    auto r = cleanup::build_queue_file(cfg, {"2Tf9kN0005BCDFG", 1700000000, 0, bytes}, canon, rw);
    if (!r) return util::fail(r.error().dsn + " " + r.error().text);
    if (file) *file = r->file;
    Addrs out;
    auto env = mail::parse_queue_file(r->file);
    if (!env) return std::unexpected(env.error());
    for (const auto& rc : env->recipients) out.push_back(rc.address);
    return out;
}

}  // namespace

TEST_CASE("bcc: always_bcc, sender_bcc_maps, recipient_bcc_maps add envelope recipients only", "[cleanup][bcc]") {
    cleanup::RewriteTables rw;
    rw.sender_bcc = table({{"boss@example.com", "archive-out"}});
    rw.recipient_bcc = table({{"sales@example.com", "archive-in@example.com"}});
    rw.virtual_alias = [](std::string_view a) -> util::Result<std::optional<Addrs>> {
        if (a == "archive-in@example.com") return Addrs{"store@example.net"};
        return std::nullopt;
    };
    std::string file;
    auto got = recipients("always_bcc = audit\n", rw, stream("smtp", "boss@example.com", {"sales@example.com", "x@y.z"}),
                          &file);
    REQUIRE(got);
    CHECK(*got == Addrs{"sales@example.com", "x@y.z", "archive-out@example.com", "store@example.net",
                        "audit@example.com"});
    // No header names a copy.
    std::string content = file.substr(mail::parse_queue_file(file)->content_offset);
    CHECK(content.find("archive") == std::string::npos);
    CHECK(content.find("audit") == std::string::npos);
    // Once only, however many ask for it.
    auto twice = recipients("always_bcc = sales@example.com\n", rw, stream("local", "u@example.com", {"sales@example.com"}));
    CHECK(*twice == Addrs{"sales@example.com", "store@example.net"});
    // Not for bounces or mail local forwards.
    CHECK(*recipients("always_bcc = audit\n", rw, stream("forward", "boss@example.com", {"a@b.c"})) == Addrs{"a@b.c"});
    CHECK(*recipients("always_bcc = audit\n", rw, stream("bounce", "", {"a@b.c"})) == Addrs{"a@b.c"});
    // A table that cannot answer defers.
    auto broken = recipients("", rw, stream("smtp", "broken@example.com", {"a@b.c"}));
    REQUIRE_FALSE(broken);
    CHECK(broken.error().text == "4.3.0 Temporary lookup failure");
}
