#include "mail/dkim_sign.hpp"
#include "mail/dkim_tags.hpp"
#include "mail/dkim_verify.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace kurir::mail;

namespace {

std::string unbase64(const std::string& b64) {
    std::string out(b64.size(), '\0');
    size_t len = 0;
    REQUIRE(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), b64.data(), b64.size(), nullptr,
                              &len, nullptr, sodium_base64_VARIANT_ORIGINAL) == 0);
    out.resize(len);
    return out;
}

// What a verifier does with our header: the h= headers bottom up, then the
// signature field with b= emptied, then the public key from the record.
bool verifies(const std::string& value, const std::vector<DkimHeaderField>& headers, const std::string& record) {
    auto sig = parse_dkim_signature(value);
    REQUIRE(sig);
    auto key = parse_dkim_key_record(record);
    REQUIRE(key);
    std::string data = dkim_header_data(DkimCanon::relaxed, sig->headers, headers);
    std::string emptied = value.substr(0, value.find("b=", value.find("bh=") + 3) + 2);
    std::string self = dkim_header(DkimCanon::relaxed, "DKIM-Signature", emptied);
    data += self.substr(0, self.size() - 2);
    std::string signature = unbase64(sig->signature);
    std::string pub = unbase64(key->public_key);
    if (key->key_type == "ed25519") {
        unsigned char hash[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(data.data()), data.size());
        return signature.size() == crypto_sign_BYTES && pub.size() == crypto_sign_PUBLICKEYBYTES &&
               crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()), hash, sizeof hash,
                                           reinterpret_cast<const unsigned char*>(pub.data())) == 0;
    }
    const unsigned char* p = reinterpret_cast<const unsigned char*>(pub.data());
    EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(pub.size()));
    REQUIRE(pkey);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
              EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                               reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return ok;
}

}  // namespace

TEST_CASE("DKIM signatures verify with the published key, RSA and Ed25519", "[dkim]") {
    std::vector<DkimHeaderField> headers = {
        {"Received", " from x by y"}, {"From", " Joe <joe@example.com>"}, {"To", " a@b.example,\n\tc@d.example"},
        {"Subject", " hello   world "}, {"Date", " Sun, 6 Dec 2026 18:00:00 +0000"}};
    DkimBodyHash bh;
    bh.line("Hello,");
    bh.line("");
    auto body_hash = bh.finish();
    for (auto type : {DkimKey::Type::rsa, DkimKey::Type::ed25519}) {
        auto key = DkimKey::generate(type, 1024);
        REQUIRE(key);
        DkimSignRequest req;
        req.domain = "example.com";
        req.selector = "sel";
        req.now = 1800000000;
        auto value = dkim_sign(*key, req, headers, body_hash);
        REQUIRE(value);
        auto record = key->dns_record();
        REQUIRE(record);
        CHECK(verifies(*value, headers, *record));
        auto parsed = parse_dkim_signature(*value);
        REQUIRE(parsed);
        // From, To, Subject, Date once each plus once more; the others once.
        CHECK(std::count(parsed->headers.begin(), parsed->headers.end(), "from") == 2);
        CHECK(std::count(parsed->headers.begin(), parsed->headers.end(), "cc") == 1);
        CHECK(std::count(parsed->headers.begin(), parsed->headers.end(), "received") == 0);
        // Every line of the field fits in 78 columns.
        size_t start = 0;
        std::string field = "DKIM-Signature:" + *value;
        while (start < field.size()) {
            size_t nl = field.find('\n', start);
            CHECK((nl == std::string::npos ? field.size() : nl) - start <= 78);
            if (nl == std::string::npos) break;
            start = nl + 1;
        }
        // A changed Subject, or a second From added, breaks it.
        auto changed = headers;
        changed[3].second = " hello world!";
        CHECK_FALSE(verifies(*value, changed, *record));
        auto added = headers;
        added.emplace_back("From", " mallory@evil.example");
        CHECK_FALSE(verifies(*value, added, *record));
        // Folding and white space changes do not (relaxed).
        auto refolded = headers;
        refolded[3].second = "\thello\n\t world";
        CHECK(verifies(*value, refolded, *record));
        // The key survives PEM.
        auto pem = key->private_pem();
        REQUIRE(pem);
        auto again = DkimKey::from_pem(*pem, "test key");
        REQUIRE(again);
        CHECK(again->type() == type);
    }
}

TEST_CASE("DKIM keys and requests: bad input is an error", "[dkim]") {
    CHECK_FALSE(DkimKey::from_pem("not a key", "k"));
    CHECK_FALSE(DkimKey::generate(DkimKey::Type::rsa, 512));
    auto key = DkimKey::generate(DkimKey::Type::ed25519);
    REQUIRE(key);
    DkimSignRequest req;
    req.domain = "example.com; x=1";
    req.selector = "sel";
    CHECK_FALSE(dkim_sign(*key, req, {{"From", " a@b"}}, "YWJj"));
    req.domain = "example.com";
    req.selector = "";
    CHECK_FALSE(dkim_sign(*key, req, {{"From", " a@b"}}, "YWJj"));
}

TEST_CASE("DkimVerifier: pass, body and header changes, expiry, key lookups", "[dkim]") {
    auto key = DkimKey::generate(DkimKey::Type::ed25519);
    REQUIRE(key);
    auto record = key->dns_record();
    REQUIRE(record);
    std::vector<DkimHeaderField> headers = {{"From", " a@example.com"}, {"Subject", " s"}};
    auto hash_of = [](const std::vector<std::string>& lines) {
        DkimBodyHash h;
        for (const auto& l : lines) h.line(l);
        return h.finish();
    };
    DkimSignRequest req;
    req.domain = "example.com";
    req.selector = "sel";
    req.now = 1000;
    auto value = dkim_sign(*key, req, headers, hash_of({"body"}));
    REQUIRE(value);
    auto check = [&](const std::string& sig_value, const std::vector<std::string>& body, const DkimKeyLookup& lookup,
                     std::time_t now = 2000) {
        auto with_sig = headers;
        with_sig.insert(with_sig.begin(), {"DKIM-Signature", sig_value});
        DkimVerifier v(with_sig);
        REQUIRE(v.signatures() == 1);
        CHECK(v.key_name(0) == "sel._domainkey.example.com");
        for (const auto& l : body) v.body_line(l);
        v.finish_body();
        return v.verify(0, lookup, now);
    };
    DkimKeyLookup found{DkimKeyLookup::Status::found, *record};
    CHECK(check(*value, {"body", ""}, found).result == DkimResult::pass);
    auto changed = check(*value, {"bodY"}, found);
    CHECK(changed.result == DkimResult::fail);
    CHECK(changed.reason == "body hash did not verify");
    CHECK(check(*value, {"body"}, {DkimKeyLookup::Status::temporary, ""}).result == DkimResult::temperror);
    CHECK(check(*value, {"body"}, {DkimKeyLookup::Status::not_found, ""}).result == DkimResult::permerror);
    // x= before now: expired, whatever else holds.
    std::string expiring = *value;
    expiring.insert(expiring.find("h="), "x=1500; ");
    CHECK(check(expiring, {"body"}, found, 1400).reason != "signature expired");
    auto expired = check(expiring, {"body"}, found, 1600);
    CHECK(expired.result == DkimResult::fail);
    CHECK(expired.reason == "signature expired");
    // Only the first max_signatures signatures are looked at.
    std::vector<DkimHeaderField> many(10, {"DKIM-Signature", *value});
    many.insert(many.end(), headers.begin(), headers.end());
    CHECK(DkimVerifier(many, 5).signatures() == 5);
}

TEST_CASE("dkim_header_data: each name takes its fields bottom up, names in any case", "[dkim]") {
    std::vector<DkimHeaderField> headers = {{"Received", " one"}, {"From", " a@x"}, {"received", " two"}, {"To", " b@y"}};
    std::vector<std::string> names = {"received", "from", "RECEIVED", "received", "cc", "to"};
    CHECK(dkim_header_data(DkimCanon::relaxed, names, headers) ==
          "received:two\r\nfrom:a@x\r\nreceived:one\r\nto:b@y\r\n");
    CHECK(dkim_header_data(DkimCanon::simple, {"cc"}, headers).empty());
}

// Found by review: every name of h= looked at every header field, and a
// stranger's signature may name 50,000 fields over 150,000 one-letter
// ones (both fit smtpd's limits): about 90 s of one smtpd process, with
// all its sessions waiting. Now one pass; the child is given 30 s, a
// hundred times what it needs even under the sanitizers.
TEST_CASE("dkim_header_data: a huge h= over a huge header block is one pass", "[dkim]") {
    std::vector<DkimHeaderField> headers(150'000, DkimHeaderField{"a", ""});
    headers.emplace_back("From", " a@x");
    std::vector<std::string> names(50'000, "x");
    names.emplace_back("from");
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::alarm(30);
        bool right = dkim_header_data(DkimCanon::relaxed, names, headers) == "from:a@x\r\n";
        ::_exit(right ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
