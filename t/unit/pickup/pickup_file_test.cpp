#include "mail/config.hpp"
#include "mail/queue_file.hpp"
#include "mail/record.hpp"
#include "pickup/pickup_file.hpp"

#include <catch2/catch.hpp>

using namespace kurir;

namespace {
std::string maildrop_file(const std::string& uid, const std::string& sender, std::vector<std::string> rcpts,
                          std::vector<std::string> attrs = {}) {
    std::string f;
    mail::rec_append(f, mail::rec::version, "1");
    mail::rec_append(f, mail::rec::time, "100 0");
    mail::rec_append(f, mail::rec::attr, "uid=" + uid);
    for (auto& a : attrs) mail::rec_append(f, mail::rec::attr, a);
    mail::rec_append(f, mail::rec::sender, sender);
    for (auto& r : rcpts) mail::rec_append(f, mail::rec::rcpt, r);
    mail::rec_append(f, mail::rec::message, "");
    mail::rec_append(f, mail::rec::line, "Subject: hi");
    mail::rec_append(f, mail::rec::content_end, "");
    mail::rec_append(f, mail::rec::end, "");
    return f;
}

mail::Config config() { return *mail::Config::from_text("myorigin = mx.test\n", "/tmp/none"); }
}  // namespace

TEST_CASE("pickup trusts the file owner, not the file") {
    auto cfg = config();
    pickup::Submitter amy{1000, "amy", false};
    auto ok = pickup::prepare_maildrop_file(cfg, maildrop_file("1000", "", {"b@x"}), amy);
    REQUIRE(ok);
    CHECK(ok->sender == "amy");
    auto lie = pickup::prepare_maildrop_file(cfg, maildrop_file("0", "", {"b@x"}), amy);
    REQUIRE(!lie);
    CHECK(lie.error().find("claims uid 0") != std::string::npos);
    CHECK(!pickup::prepare_maildrop_file(cfg, maildrop_file("1000", "", {}), amy));  // no recipients, no -t
    CHECK(pickup::prepare_maildrop_file(cfg, maildrop_file("1000", "", {}, {"extract=1"}), amy));
    CHECK(!pickup::prepare_maildrop_file(cfg, "garbage", amy));
    std::string f = maildrop_file("1000", "", {"b@x"});
    CHECK(!pickup::prepare_maildrop_file(cfg, f.substr(0, f.size() - 4), amy));
    CHECK(!pickup::prepare_maildrop_file(cfg, maildrop_file("1000", "", {"b@x"}, {"requeue=1"}), amy));
}

TEST_CASE("pickup records -f by an untrusted user, not by a trusted one") {
    auto cfg = config();
    auto warned = pickup::prepare_maildrop_file(cfg, maildrop_file("1000", "boss@else.test", {"b@x"}),
                                                pickup::Submitter{1000, "amy", false});
    REQUIRE(warned);
    CHECK(warned->stream.find("auth_warning=amy set sender to boss@else.test using -f") != std::string::npos);
    auto own = pickup::prepare_maildrop_file(cfg, maildrop_file("1000", "amy@mx.test", {"b@x"}),
                                             pickup::Submitter{1000, "amy", false});
    REQUIRE(own);
    CHECK(own->stream.find("auth_warning") == std::string::npos);
    auto root = pickup::prepare_maildrop_file(cfg, maildrop_file("0", "boss@else.test", {"b@x"}),
                                              pickup::Submitter{0, "root", true});
    REQUIRE(root);
    CHECK(root->stream.find("auth_warning") == std::string::npos);
    CHECK(root->stream.find("origin=local") != std::string::npos);
}

TEST_CASE("pickup: smtputf8_autodetect_classes = sendmail flags UTF-8 submissions SMTPUTF8", "[smtputf8]") {
    auto cfg = config();
    pickup::Submitter amy{1000, "amy", false};
    auto file = [](const std::string& rcpt, const std::string& header, const std::string& body) {
        std::string f;
        mail::rec_append(f, mail::rec::version, "1");
        mail::rec_append(f, mail::rec::time, "100 0");
        mail::rec_append(f, mail::rec::attr, "uid=1000");
        mail::rec_append(f, mail::rec::sender, "");
        mail::rec_append(f, mail::rec::rcpt, rcpt);
        mail::rec_append(f, mail::rec::message, "");
        mail::rec_append(f, mail::rec::line, header);
        mail::rec_append(f, mail::rec::line, "");
        mail::rec_append(f, mail::rec::line, body);
        mail::rec_append(f, mail::rec::content_end, "");
        mail::rec_append(f, mail::rec::end, "");
        return f;
    };
    auto flagged = [&](const std::string& f, bool autodetect) {
        auto p = pickup::prepare_maildrop_file(cfg, f, amy, autodetect);
        REQUIRE(p);
        return p->stream.find("smtputf8=yes") != std::string::npos;
    };
    CHECK(flagged(file("b@x", "Subject: gr\xc3\xbc\xc3\x9f", "body"), true));
    CHECK(flagged(file("\xc3\xbc@x", "Subject: hi", "body"), true));
    CHECK_FALSE(flagged(file("b@x", "Subject: hi", "b\xc3\xbc" "dy"), true));  // the body does not count
    CHECK_FALSE(flagged(file("b@x", "Subject: gr\xc3\xbc\xc3\x9f", "body"), false));
    // A requeued message keeps the request it had.
    auto requeued = pickup::prepare_maildrop_file(cfg, maildrop_file("0", "", {"b@x"}, {"requeue=1", "smtputf8=yes"}),
                                                  pickup::Submitter{0, "root", true});
    REQUIRE(requeued);
    CHECK(requeued->stream.find("smtputf8=yes") != std::string::npos);
}

// Found by review: pickup measured the envelope by its encoded size, cleanup
// by each record's data and 8 bytes; 500,000 short recipients passed here
// and were refused by cleanup with a 4xx on every scan.
TEST_CASE("pickup refuses, for good, an envelope cleanup would refuse for now") {
    mail::Config cfg = config();
    pickup::Submitter amy{1000, "amy", false};
    std::vector<std::string> many(500'000, "a@b.c");
    auto file = maildrop_file("1000", "", many);
    REQUIRE(file.size() < mail::kMaxStreamEnvelope);
    auto r = pickup::prepare_maildrop_file(cfg, file, amy);
    REQUIRE_FALSE(r);
    CHECK(r.error() == "envelope too large");
    many.resize(1000);
    CHECK(pickup::prepare_maildrop_file(cfg, maildrop_file("1000", "", many), amy));
}
