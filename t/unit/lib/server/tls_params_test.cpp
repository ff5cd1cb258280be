// smtpd's TLS settings (Postfix's syntax) and the server context built from
// a credential bundle: key and certificate made here with OpenSSL.
#include "server/tls_credentials.hpp"
#include "server/tls_params.hpp"
#include "server/tls_server.hpp"

#include "../../test_util.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

using namespace kurir;
using namespace kurir::server;
namespace kt = kurir::test;

namespace {

std::string pem_of_key(EVP_PKEY* key) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(b);
    return out;
}

// A self-signed certificate for key, as PEM.
std::string pem_of_cert(EVP_PKEY* key, const char* cn) {
    X509* x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(b);
    X509_free(x);
    return out;
}

TlsServerSettings settings_for(const std::string& text) {
    auto cfg = mail::Config::from_text(text, "/tmp/x");
    REQUIRE(cfg);
    auto s = load_tls_settings(*cfg);
    REQUIRE(s);
    return *s;
}

}  // namespace

TEST_CASE("parse_tls_level: none, may, encrypt", "[tls]") {
    CHECK(parse_tls_level("").value() == TlsLevel::none);
    CHECK(parse_tls_level("none").value() == TlsLevel::none);
    CHECK(parse_tls_level("may").value() == TlsLevel::may);
    CHECK(parse_tls_level("encrypt").value() == TlsLevel::encrypt);
    for (std::string_view bad : {"verify", "secure", "dane", "Encrypt", "yes", " may"}) {
        INFO(bad);
        auto r = parse_tls_level(bad);
        REQUIRE(!r);
        CHECK_THAT(r.error().text, Catch::Contains("smtpd_tls_security_level"));
    }
}

TEST_CASE("parse_tls_protocols: Postfix's inclusion, exclusion and range syntax", "[tls]") {
    using P = TlsProtocols;
    struct Case {
        std::string text;
        unsigned enabled;
        int min, max;
    };
    std::vector<Case> cases = {
        {">=TLSv1.2", P::tls1_2 | P::tls1_3, TLS1_2_VERSION, TLS1_3_VERSION},
        {"", P::tls1 | P::tls1_1 | P::tls1_2 | P::tls1_3, TLS1_VERSION, TLS1_3_VERSION},
        {"!SSLv2, !SSLv3", P::tls1 | P::tls1_1 | P::tls1_2 | P::tls1_3, TLS1_VERSION, TLS1_3_VERSION},
        {"!SSLv2:!SSLv3:!TLSv1:!TLSv1.1", P::tls1_2 | P::tls1_3, TLS1_2_VERSION, TLS1_3_VERSION},
        {"TLSv1.2 TLSv1.3", P::tls1_2 | P::tls1_3, TLS1_2_VERSION, TLS1_3_VERSION},
        {"TLSv1.3", P::tls1_3, TLS1_3_VERSION, TLS1_3_VERSION},
        {">=TLSv1.1, <=TLSv1.2", P::tls1_1 | P::tls1_2, TLS1_1_VERSION, TLS1_2_VERSION},
        {">=TLSv1, !TLSv1.2", P::tls1 | P::tls1_1 | P::tls1_3, TLS1_VERSION, TLS1_3_VERSION},
        {"<=TLSv1.2", P::tls1 | P::tls1_1 | P::tls1_2, TLS1_VERSION, TLS1_2_VERSION},
    };
    for (const auto& c : cases) {
        INFO("\"" << c.text << "\"");
        auto p = parse_tls_protocols(c.text);
        REQUIRE(p);
        CHECK(p->enabled == c.enabled);
        CHECK(p->min_version() == c.min);
        CHECK(p->max_version() == c.max);
    }
    for (std::string bad : {"TLSv1.4", "!TLSv2", ">=tlsv1.2", "SSLv3", ">=TLSv1.3, <=TLSv1.2", "=TLSv1.2", "!"}) {
        INFO("\"" << bad << "\"");
        auto p = parse_tls_protocols(bad);
        REQUIRE(!p);
        CHECK_THAT(p.error().text, Catch::Contains("TLS protocol list"));
    }
}

TEST_CASE("cipher_list_for_grade: Postfix grades to OpenSSL lists, never anonymous", "[tls]") {
    CHECK(cipher_list_for_grade("high").value() == "aNULL:-aNULL:HIGH:@STRENGTH");
    CHECK(cipher_list_for_grade("medium").value() == "aNULL:-aNULL:HIGH:MEDIUM:@STRENGTH");
    CHECK(cipher_list_for_grade("low").value() == cipher_list_for_grade("medium").value());
    for (std::string bad : {"", "HIGH", "strong", "ALL"}) {
        INFO(bad);
        CHECK(!cipher_list_for_grade(bad));
    }
}

TEST_CASE("load_tls_settings: defaults, mandatory settings under encrypt, a level without a certificate",
          "[tls]") {
    TlsServerSettings off = settings_for("");
    CHECK(!off.enabled());
    CHECK(off.protocols.min_version() == TLS1_2_VERSION);
    TlsServerSettings may = settings_for("smtpd_tls_security_level = may\nsmtpd_tls_cert_file = /c.pem\n"
                                         "smtpd_tls_protocols = !SSLv2, !SSLv3\nsmtpd_tls_mandatory_ciphers = high\n");
    CHECK(may.enabled());
    CHECK(!may.mandatory());
    CHECK(may.key_file == "/c.pem");  // $smtpd_tls_cert_file, as Postfix
    CHECK(may.protocols.min_version() == TLS1_VERSION);
    CHECK(may.cipher_list == "aNULL:-aNULL:HIGH:MEDIUM:@STRENGTH");
    TlsServerSettings enc = settings_for("smtpd_tls_security_level = encrypt\nsmtpd_tls_cert_file = /c.pem\n"
                                         "smtpd_tls_protocols = !SSLv2, !SSLv3\nsmtpd_tls_mandatory_ciphers = high\n");
    CHECK(enc.mandatory());
    CHECK(enc.protocols.min_version() == TLS1_2_VERSION);
    CHECK(enc.cipher_list == "aNULL:-aNULL:HIGH:@STRENGTH");
    TlsServerSettings wrapper = settings_for("smtpd_tls_wrappermode = yes\nsmtpd_tls_cert_file = /c.pem\n");
    CHECK(wrapper.enabled());
    CHECK(wrapper.mandatory());

    auto cfg = mail::Config::from_text("smtpd_tls_security_level = may\n", "/tmp/x");
    REQUIRE(cfg);
    auto none = load_tls_settings(*cfg);
    REQUIRE(!none);
    CHECK_THAT(none.error().text, Catch::Contains("needs smtpd_tls_cert_file"));
    auto bad = mail::Config::from_text("smtpd_tls_security_level = may\nsmtpd_tls_cert_file = /c\n"
                                       "smtpd_tls_protocols = TLSv9\n", "/tmp/x");
    REQUIRE(bad);
    auto r = load_tls_settings(*bad);
    REQUIRE(!r);
    CHECK_THAT(r.error().text, Catch::Contains("smtpd_tls_protocols: TLS protocol list: unknown protocol \"TLSv9\""));
}

TEST_CASE("TlsServer::create: key and certificate checked, a mismatch or a missing part named", "[tls]") {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    EVP_PKEY* other = EVP_EC_gen("P-256");
    REQUIRE(key);
    REQUIRE(other);
    std::string key_pem = pem_of_key(key), cert_pem = pem_of_cert(key, "mx.test");
    TlsServerSettings s = settings_for("smtpd_tls_security_level = may\nsmtpd_tls_cert_file = /c.pem\n");

    auto good = TlsServer::create(s, key_pem + cert_pem, "/c.pem");
    REQUIRE(good);
    SSL* ssl = (*good)->new_ssl();
    REQUIRE(ssl);
    SSL_free(ssl);
    CHECK(TlsServer::create(s, cert_pem + key_pem, "/c.pem"));  // order does not matter

    auto mismatch = TlsServer::create(s, pem_of_key(other) + cert_pem, "/c.pem");
    REQUIRE(!mismatch);
    CHECK_THAT(mismatch.error().text, Catch::StartsWith("/c.pem: "));
    auto no_key = TlsServer::create(s, cert_pem, "/c.pem");
    REQUIRE(!no_key);
    CHECK(no_key.error().text == "/c.pem: no private key");
    auto no_cert = TlsServer::create(s, key_pem, "/c.pem");
    REQUIRE(!no_cert);
    CHECK(no_cert.error().text == "/c.pem: no certificate");
    CHECK(!TlsServer::create(s, "garbage", "/c.pem"));
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
}

TEST_CASE("TLS credentials: read from the files once each, sealed, read back", "[tls]") {
    kt::TempDir dir;
    kt::spit(dir / "key.pem", "KEY\n");
    kt::spit(dir / "cert.pem", "CERT");
    TlsServerSettings s;
    s.cert_file = dir / "cert.pem";
    s.key_file = dir / "key.pem";
    CHECK(read_tls_credentials(s).value() == "KEY\nCERT\n");
    s.key_file = s.cert_file;  // one file holds both
    CHECK(read_tls_credentials(s).value() == "CERT\n");
    s.key_file = dir / "missing.pem";
    auto missing = read_tls_credentials(s);
    REQUIRE(!missing);
    CHECK_THAT(missing.error().text, Catch::Contains(dir / "missing.pem"));
    CHECK_THAT(missing.error().text, Catch::Contains("No such file or directory"));

    auto fd = seal_credentials("PEM BYTES");
    REQUIRE(fd);
    CHECK(read_sealed(fd->get()).value() == "PEM BYTES");
    CHECK(::write(fd->get(), "x", 1) < 0);  // sealed
    auto plain = util::open_file(dir / "key.pem", O_RDONLY);
    REQUIRE(plain);
    CHECK(!read_sealed(plain->get()));  // not a sealed memory file: not taken for credentials
}
