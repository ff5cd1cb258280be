#include "cleanup/cleanup_canonical.hpp"
#include "cleanup/cleanup_masquerade.hpp"
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
        if (a == "broken@example.com") return util::fail("hash:/c: read error");
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

mail::Config config(const std::string& extra = "") {
    return mail::Config::from_text("myhostname = mx.example\nmyorigin = example.com\n" + extra, "/tmp/x").value();
}

std::string stream(std::string origin, std::string client, const std::vector<std::string>& headers) {
    using namespace mail;
    std::string s;
    rec_append(s, rec::attr, "origin=" + origin);
    if (!client.empty()) rec_append(s, rec::attr, "client_addr=" + client);
    rec_append(s, rec::sender, "joe@host.example.com");
    rec_append(s, rec::rcpt, "ann@host.example.com");
    rec_append(s, rec::message, "");
    for (const auto& h : headers) rec_append_line(s, h, 4096);
    rec_append_line(s, "", 4096);
    rec_append_line(s, "body", 4096);
    rec_append(s, rec::content_end, "");
    return s;
}

struct Out {
    mail::QueueEnvelope env;
    std::vector<std::string> lines;
    long size;
};

Out build(const mail::Config& cfg, const cleanup::RewriteTables& rw, const std::string& bytes) {
    auto r = cleanup::build_queue_file(cfg, {"2Tf9kN0005BCDFG", 1700000000, 0, bytes}, canon, rw);
    if (!r) FAIL(r.error().dsn << " " << r.error().text);
    Out o{mail::parse_queue_file(r->file).value(), {}, r->size};
    REQUIRE(mail::for_each_content_line(r->file, o.env, [&](std::string_view l) { o.lines.emplace_back(l); }));
    return o;
}

bool has(const std::vector<std::string>& lines, std::string_view l) {
    return std::find(lines.begin(), lines.end(), l) != lines.end();
}

}  // namespace

TEST_CASE("canonical: one to one, recursive until it maps to itself, errors and loops defer", "[cleanup][canonical]") {
    auto t = table({{"a@example.com", "b"}, {"b@example.com", "c@example.org"}, {"self@example.com", "SELF@example.com"},
                    {"l1@example.com", "l2@example.com"}, {"l2@example.com", "l1@example.com"},
                    {"e@example.com", "broken@example.com"}});
    CHECK(cleanup::map_canonical("a@example.com", t, "canonical_maps", canon).value() == "c@example.org");
    CHECK(cleanup::map_canonical("x@example.com", t, "canonical_maps", canon).value() == "x@example.com");
    CHECK(cleanup::map_canonical("self@example.com", t, "canonical_maps", canon).value() == "SELF@example.com");
    auto loop = cleanup::map_canonical("l1@example.com", t, "canonical_maps", canon);
    REQUIRE_FALSE(loop);
    CHECK(loop.error().text == "unreasonable canonical_maps map nesting for l1@example.com -- deferring delivery");
    CHECK_FALSE(cleanup::map_canonical("e@example.com", t, "canonical_maps", canon));
}

TEST_CASE("canonical: the classes, sender and recipient tables first, envelope and headers", "[cleanup][canonical]") {
    cleanup::RewriteTables rw;
    rw.sender_canonical = table({{"joe@host.example.com", "joe.smith@example.com"}});
    rw.recipient_canonical = table({{"ann@host.example.com", "ann.lee@example.com"}});
    rw.canonical = table({{"joe.smith@example.com", "js@example.com"}, {"bob@example.com", "bob.b@example.com"}});
    std::vector<std::string> headers{"From: Joe <joe@host.example.com>", "To: ann@host.example.com, bob",
                                     "Cc: \"Joe\" <joe@host.example.com>", "Subject: joe@host.example.com"};
    auto o = build(config(), rw, stream("local", "", headers));
    CHECK(o.env.sender == "js@example.com");
    CHECK(o.env.recipients.at(0).address == "ann.lee@example.com");
    CHECK(has(o.lines, "From: Joe <js@example.com>"));
    CHECK(has(o.lines, "To: ann.lee@example.com, bob.b@example.com"));
    CHECK(has(o.lines, "Cc: \"Joe\" <joe@host.example.com>"));  // a recipient header: the sender table is not asked
    CHECK(has(o.lines, "Subject: joe@host.example.com"));
    long bytes = 0;
    for (const auto& l : o.lines) bytes += static_cast<long>(l.size()) + 1;
    CHECK(o.size == bytes);

    // canonical_classes without the header classes: the envelope only.
    auto env_only = build(config("canonical_classes = envelope_sender\nsender_canonical_classes = envelope_sender\n"
                                 "recipient_canonical_classes =\n"),
                          rw, stream("local", "", headers));
    CHECK(env_only.env.sender == "js@example.com");
    CHECK(env_only.env.recipients.at(0).address == "ann@host.example.com");
    CHECK(has(env_only.lines, "From: Joe <joe@host.example.com>"));

    // Headers from a remote SMTP client stay as they came (Postfix's local_header_rewrite_clients).
    auto remote = build(config(), rw, stream("smtp", "192.0.2.1", headers));
    CHECK(remote.env.sender == "js@example.com");
    CHECK(has(remote.lines, "From: Joe <joe@host.example.com>"));
    auto loopback = build(config(), rw, stream("smtp", "127.0.0.1", headers));
    CHECK(has(loopback.lines, "From: Joe <js@example.com>"));
}

TEST_CASE("canonical: a table error or a bad class defers the message", "[cleanup][canonical]") {
    cleanup::RewriteTables rw;
    rw.canonical = table({{"joe@host.example.com", "broken@example.com"}, {"broken@example.com", "x"}});
    std::string bytes = stream("local", "", {"From: joe@host.example.com"});
    rw.canonical = [](std::string_view) -> util::Result<std::optional<Addrs>> { return util::fail("hash:/c: gone"); };
    auto r = cleanup::build_queue_file(config(), {"2Tf9kN0005BCDFG", 1700000000, 0, bytes}, canon, rw);
    REQUIRE_FALSE(r);
    CHECK(r.error().status == '4');
    rw.canonical = table({});
    CHECK_FALSE(cleanup::build_queue_file(config("canonical_classes = envelope_sendr\n"),
                                          {"2Tf9kN0005BCDFG", 1700000000, 0, bytes}, canon, rw));
}

TEST_CASE("masquerade: parent domains, exclusions in order, exceptions", "[cleanup][masquerade]") {
    std::vector<std::string> d{"!sub.example.com", "example.com"};
    CHECK(cleanup::masquerade_address("u@host.dept.example.com", d, {}) == "u@example.com");
    CHECK(cleanup::masquerade_address("u@Host.Example.COM", d, {}) == "u@example.com");
    CHECK(cleanup::masquerade_address("u@example.com", d, {}) == "u@example.com");
    CHECK(cleanup::masquerade_address("u@host.sub.example.com", d, {}) == "u@host.sub.example.com");
    CHECK(cleanup::masquerade_address("u@notexample.com", d, {}) == "u@notexample.com");
    CHECK(cleanup::masquerade_address("root@host.example.com", d, {"root"}) == "root@host.example.com");
    CHECK(cleanup::masquerade_address("u", d, {}) == "u");
}

TEST_CASE("masquerade in cleanup: Postfix's default classes leave the envelope recipient", "[cleanup][masquerade]") {
    auto cfg = config("masquerade_domains = example.com\nmasquerade_exceptions = root\n");
    cleanup::RewriteTables rw;
    rw.masquerade = cleanup::masquerade_from_config(cfg);
    auto o = build(cfg, rw, stream("local", "", {"From: joe@host.example.com", "To: ann@host.example.com, root@host.example.com"}));
    CHECK(o.env.sender == "joe@example.com");
    CHECK(o.env.recipients.at(0).address == "ann@host.example.com");
    CHECK(has(o.lines, "From: joe@example.com"));
    CHECK(has(o.lines, "To: ann@example.com, root@host.example.com"));
}
