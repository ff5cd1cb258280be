#include "cleanup/cleanup_dkim.hpp"
#include "cleanup/cleanup_message.hpp"

#include "mail/dkim_verify.hpp"
#include "mail/queue_file.hpp"
#include "mail/record.hpp"

#include "../test_util.hpp"
#include "cleanup_stream.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>

using namespace kurir;
using namespace kurir::mail;
using cleanup::build_queue_file;
using cleanup::CleanupInput;
using cleanup::DkimKeySpec;
using cleanup::DkimSigningKey;
using test::cleanup_stream::config;
using test::cleanup_stream::identity;
using test::cleanup_stream::kNow;
using test::cleanup_stream::Lines;

namespace {

struct Keys {
    std::shared_ptr<const DkimKey> rsa, ed;
    std::map<std::string, std::string> records;  // "selector._domainkey.domain" -> TXT
    Keys() {
        auto r = DkimKey::generate(DkimKey::Type::rsa, 1024);
        auto e = DkimKey::generate(DkimKey::Type::ed25519);
        REQUIRE(r);
        REQUIRE(e);
        rsa = std::make_shared<const DkimKey>(std::move(*r));
        ed = std::make_shared<const DkimKey>(std::move(*e));
        records["rsa1._domainkey.example.org"] = *rsa->dns_record();
        records["ed1._domainkey.example.org"] = *ed->dns_record();
    }
    cleanup::DkimKeysFor lookup(int* calls = nullptr) const {
        return [this, calls](std::string_view domain) -> util::Result<std::vector<DkimSigningKey>> {
            if (calls) ++*calls;
            if (domain == "broken.example") return util::fail("dkim_signing_table: lookup error");
            if (domain != "example.org") return std::vector<DkimSigningKey>{};
            return std::vector<DkimSigningKey>{{"rsa1", rsa}, {"ed1", ed}};
        };
    }
};

std::string stream(const std::vector<std::pair<std::string, std::string>>& attrs, const Lines& lines,
                   const Lines& prepended = {}) {
    std::string s;
    for (const auto& [n, v] : attrs) rec_append(s, rec::attr, n + "=" + v);
    rec_append(s, rec::sender, "a@example.org");
    rec_append(s, rec::rcpt, "b@example.net");
    rec_append(s, rec::message, "");
    for (const auto& l : lines) rec_append_line(s, l);
    for (const auto& p : prepended) rec_append(s, rec::prepend, p);
    rec_append(s, rec::content_end, "");
    return s;
}

const std::vector<std::pair<std::string, std::string>> kLocal = {{"origin", "local"}, {"uid", "1000"}};

struct Signed {
    QueueEnvelope env;
    Lines content;
    long size = 0;
};

Signed build(const Config& cfg, const std::string& bytes, const cleanup::DkimKeysFor& keys) {
    auto r = build_queue_file(cfg, CleanupInput{"2Tf9kN0005BCDFG", kNow, 0, bytes}, identity, {}, keys);
    if (!r) FAIL("refused: " << r.error().text);
    auto env = parse_queue_file(r->file);
    if (!env) FAIL(env.error().text);
    Signed s{*env, {}, r->size};
    REQUIRE(for_each_content_line(r->file, *env, [&](std::string_view l) { s.content.emplace_back(l); }));
    return s;
}

// Each DKIM-Signature of the delivered message checked as a receiver
// would, against the keys' records.
std::vector<DkimResult> verify(const Lines& content, const Keys& keys, bool change_body = false) {
    std::vector<DkimHeaderField> headers;
    size_t i = 0;
    for (; i < content.size() && !content[i].empty(); ++i) {
        const auto& l = content[i];
        if ((l[0] == ' ' || l[0] == '\t') && !headers.empty()) {
            headers.back().second += "\n" + l;
        } else {
            size_t colon = l.find(':');
            REQUIRE(colon != std::string::npos);
            headers.emplace_back(l.substr(0, colon), l.substr(colon + 1));
        }
    }
    DkimVerifier v(headers);
    for (++i; i < content.size(); ++i) v.body_line(content[i]);
    if (change_body) v.body_line("an added line");
    v.finish_body();
    std::vector<DkimResult> results;
    for (size_t s = 0; s < v.signatures(); ++s) {
        auto it = keys.records.find(v.key_name(s));
        DkimKeyLookup key{it == keys.records.end() ? DkimKeyLookup::Status::not_found : DkimKeyLookup::Status::found,
                          it == keys.records.end() ? "" : it->second};
        results.push_back(v.verify(s, key, kNow + 10).result);
    }
    return results;
}

const std::vector<DkimResult> kTwoPasses = {DkimResult::pass, DkimResult::pass};

}  // namespace

TEST_CASE("parse_dkim_key_specs: selector:/path or /path with the default selector", "[cleanup][dkim]") {
    auto s = cleanup::parse_dkim_key_specs("rsa2026:/etc/k/rsa.pem, /etc/k/ed.pem", "mail");
    REQUIRE(s);
    CHECK(*s == std::vector<DkimKeySpec>{{"rsa2026", "/etc/k/rsa.pem"}, {"mail", "/etc/k/ed.pem"}});
    CHECK(cleanup::parse_dkim_key_specs("", "mail")->empty());
    for (const char* bad : {"relative.pem", "sel:relative.pem", "bad selector:/x", ":/x", "a/b:/x", ".sel:/x"}) {
        auto e = cleanup::parse_dkim_key_specs(bad, "mail");
        CHECK_FALSE(e);
    }
}

TEST_CASE("cleanup signs local mail with every key of the From: domain, verified as a receiver would",
          "[cleanup][dkim]") {
    Keys keys;
    Config cfg = config();
    std::string long_subject = "Subject: a long folded subject";
    Lines folded;
    for (int i = 0; i < 20; ++i) folded.push_back("\tcontinued line " + std::to_string(i) + " \t with  spaces ");
    SECTION("plain") {
        auto s = build(cfg, stream(kLocal, {"From: A <a@example.org>", "To: b@example.net", "Subject: hi", "", "body",
                                            "  trailing   space  ", "", ""}),
                       keys.lookup());
        REQUIRE(s.env.prepended.size() == 2);
        CHECK(s.env.prepended[0].starts_with("DKIM-Signature: v=1; a=rsa-sha256;"));
        CHECK(s.env.prepended[1].starts_with("DKIM-Signature: v=1; a=ed25519-sha256;"));
        CHECK(s.env.prepended[0].find("s=rsa1") != std::string::npos);
        CHECK(s.env.prepended[0].find("d=example.org") != std::string::npos);
        CHECK(s.content[0].starts_with("DKIM-Signature:"));
        CHECK(verify(s.content, keys) == kTwoPasses);
        CHECK(verify(s.content, keys, true) == std::vector<DkimResult>{DkimResult::fail, DkimResult::fail});
        long bytes = 0;
        for (const auto& l : s.content) bytes += static_cast<long>(l.size()) + 1;
        CHECK(s.size == bytes);
        CHECK(s.env.content_size == bytes);
    }
    SECTION("8-bit body, long lines in pieces, a long folded header") {
        Lines lines = {"From: a@EXAMPLE.org", long_subject};
        lines.insert(lines.end(), folded.begin(), folded.end());
        lines.insert(lines.end(), {"Content-Type: text/plain; charset=utf-8", "", "gr\xc3\xbc\xc3\x9f dich",
                                   std::string(10000, 'x'), "\xff\xfe raw bytes"});
        auto s = build(cfg, stream(kLocal, lines), keys.lookup());
        CHECK(verify(s.content, keys) == kTwoPasses);
    }
    SECTION("empty body, and no body at all") {
        auto s = build(cfg, stream(kLocal, {"From: a@example.org", ""}), keys.lookup());
        CHECK(verify(s.content, keys) == kTwoPasses);
        auto t = build(cfg, stream(kLocal, {"From: a@example.org", "Subject: only headers"}), keys.lookup());
        CHECK(verify(t.content, keys) == kTwoPasses);
    }
    SECTION("the client's prepended fields are signed too when named in h=") {
        auto s = build(cfg, stream(kLocal, {"From: a@example.org", "", "x"}, {"Subject: added on top"}), keys.lookup());
        auto added = std::find(s.content.begin(), s.content.end(), "Subject: added on top");
        REQUIRE(added != s.content.end());
        CHECK(added->starts_with("Subject"));
        CHECK(std::find(added, s.content.end(), "From: a@example.org") != s.content.end());  // on top
        CHECK(verify(s.content, keys) == kTwoPasses);
        CHECK(s.env.prepended[0].find("subject") != std::string::npos);
    }
}

TEST_CASE("cleanup signs only mail that is ours: local, mynetworks, authenticated", "[cleanup][dkim]") {
    Keys keys;
    Config cfg = config("mynetworks = 127.0.0.0/8 192.0.2.0/24\n");
    Lines msg = {"From: a@example.org", "", "body"};
    auto smtp = [](std::string addr, std::string user = "") {
        std::vector<std::pair<std::string, std::string>> a = {
            {"origin", "smtp"}, {"client_name", "c"}, {"client_addr", addr}, {"helo", "h"}};
        if (!user.empty()) a.push_back({"sasl_username", user});
        return a;
    };
    int calls = 0;
    CHECK(build(cfg, stream(smtp("192.0.2.7"), msg), keys.lookup()).env.prepended.size() == 2);
    CHECK(build(cfg, stream(smtp("198.51.100.1", "alice"), msg), keys.lookup()).env.prepended.size() == 2);
    CHECK(build(cfg, stream(smtp("198.51.100.1"), msg), keys.lookup(&calls)).env.prepended.empty());
    CHECK(build(cfg, stream({{"origin", "forward"}}, msg), keys.lookup(&calls)).env.prepended.empty());
    CHECK(build(cfg, stream({{"origin", "local"}, {"requeue", "1"}}, msg), keys.lookup(&calls)).env.prepended.empty());
    CHECK(calls == 0);  // not even looked up
    CHECK(build(cfg, stream({{"origin", "bounce"}}, msg), keys.lookup()).env.prepended.size() == 2);
    // Not one of the signed domains, or no From: at all.
    CHECK(build(cfg, stream(kLocal, {"From: a@example.net", "", "b"}), keys.lookup(&calls)).env.prepended.empty());
    CHECK(calls == 1);
    // (local mail without a From: gets one from cleanup, and is signed)
    CHECK(build(cfg, stream(smtp("192.0.2.7"), {"Subject: no from", "", "b"}), keys.lookup()).env.prepended.empty());
    CHECK(build(cfg, stream(kLocal, {"Subject: no from", "", "b"}), keys.lookup()).env.prepended.size() == 2);
}

TEST_CASE("cleanup defers a message when its signing keys cannot be had", "[cleanup][dkim]") {
    Keys keys;
    Config cfg = config();
    auto r = build_queue_file(cfg, CleanupInput{"2Tf9kN0005BCDFG", kNow, 0,
                                                stream(kLocal, {"From: x@broken.example", "", "b"})},
                              identity, {}, keys.lookup());
    REQUIRE_FALSE(r);
    CHECK(r.error().status == '4');
    CHECK(r.error().text == "DKIM signing error");
}

TEST_CASE("dkim_keys_lookup: dkim_sign_domains with dkim_private_key, and dkim_signing_table", "[cleanup][dkim]") {
    kurir::test::TempDir dir;
    auto rsa = DkimKey::generate(DkimKey::Type::rsa, 1024);
    auto ed = DkimKey::generate(DkimKey::Type::ed25519);
    std::ofstream(dir / "rsa.pem") << *rsa->private_pem();
    std::ofstream(dir / "ed.pem") << *ed->private_pem();
    Config none = config();
    CHECK_FALSE(cleanup::dkim_keys_lookup(none));
    Config cfg = config("dkim_sign_domains = example.org\ndkim_private_key = " + (dir / "rsa.pem") + ", ed1:" +
                        (dir / "ed.pem") + "\ndkim_signing_table = inline:{ example.com=tab:" + (dir / "ed.pem") +
                        " }\n");
    auto lookup = cleanup::dkim_keys_lookup(cfg);
    REQUIRE(lookup);
    auto org = lookup("example.org");
    REQUIRE(org);
    REQUIRE(org->size() == 2);
    CHECK((*org)[0].selector == "mail");
    CHECK((*org)[0].key->type() == DkimKey::Type::rsa);
    CHECK((*org)[1].selector == "ed1");
    CHECK((*org)[1].key->type() == DkimKey::Type::ed25519);
    auto com = lookup("example.com");
    REQUIRE(com);
    REQUIRE(com->size() == 1);
    CHECK((*com)[0].selector == "tab");
    CHECK(lookup("sub.example.org")->empty());
    CHECK(lookup("example.net")->empty());
    // A key file that is gone is an error, not an unsigned message.
    ::unlink((dir / "rsa.pem").c_str());
    auto gone = lookup("example.org");
    REQUIRE_FALSE(gone);
    CHECK(gone.error().text.find("rsa.pem") != std::string::npos);
    Config no_key = config("dkim_sign_domains = example.org\n");
    CHECK_FALSE(cleanup::dkim_keys_lookup(no_key)("example.org"));
}

TEST_CASE("dkim_sign_queue_file signs a finished file (after milters changed it), its size counting the signatures",
          "[cleanup][dkim]") {
    Keys keys;
    Config cfg = config();
    std::string bytes = stream(kLocal, {"From: a@example.org", "Subject: s", "", "changed body"}, {"X-Milter: added"});
    auto unsigned_file = build_queue_file(cfg, CleanupInput{"2Tf9kN0005BCDFG", kNow, 0, bytes}, identity);
    REQUIRE(unsigned_file);
    std::vector<std::string> log;
    auto file = cleanup::dkim_sign_queue_file(unsigned_file->file, keys.lookup(), kNow, log);
    REQUIRE(file);
    auto env = parse_queue_file(*file);
    REQUIRE(env);
    REQUIRE(env->prepended.size() == 3);
    CHECK(env->prepended[0] == "X-Milter: added");
    CHECK(env->prepended[1].starts_with("DKIM-Signature: v=1; a=rsa-sha256;"));
    Lines content;
    REQUIRE(for_each_content_line(*file, *env, [&](std::string_view l) { content.emplace_back(l); }));
    CHECK(verify(content, keys) == kTwoPasses);
    long total = 0;
    for (const auto& l : content) total += static_cast<long>(l.size()) + 1;
    CHECK(env->content_size == total);
    CHECK(log == Lines{"DKIM-Signature field added (s=rsa1, d=example.org, a=rsa-sha256)",
                       "DKIM-Signature field added (s=ed1, d=example.org, a=ed25519-sha256)"});
    // A domain without keys: the same bytes.
    std::string other = stream(kLocal, {"From: a@example.net", "", "b"});
    auto plain = build_queue_file(cfg, CleanupInput{"2Tf9kN0005BCDFG", kNow, 0, other}, identity);
    REQUIRE(plain);
    auto same = cleanup::dkim_sign_queue_file(plain->file, keys.lookup(), kNow, log);
    REQUIRE(same);
    CHECK(*same == plain->file);
    // A key that cannot be had is an error.
    std::string broken = stream(kLocal, {"From: a@broken.example", "", "b"});
    auto b = build_queue_file(cfg, CleanupInput{"2Tf9kN0005BCDFG", kNow, 0, broken}, identity);
    REQUIRE(b);
    CHECK_FALSE(cleanup::dkim_sign_queue_file(b->file, keys.lookup(), kNow, log));
}
