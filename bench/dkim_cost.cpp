// What DKIM signing and verifying cost per message on this machine: RSA
// 2048 against Ed25519, for a typical message (ten header fields, a 4 KB
// body) and a large one (a 1 MB body). Not installed; run by hand:
//   build/bench/dkim-cost [iterations]
// The numbers go into doc/performance.md.
#include "mail/dkim_sign.hpp"
#include "mail/dkim_verify.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

using namespace kurir::mail;

namespace {

struct Message {
    std::vector<DkimHeaderField> headers;
    std::vector<std::string> body;
};

Message make_message(size_t body_bytes) {
    Message m;
    m.headers = {{"From", " Joe <joe@example.com>"}, {"To", " you@example.net"}, {"Subject", " a test message"},
                 {"Date", " Sun, 6 Dec 2026 18:00:00 +0000"}, {"Message-ID", " <1.2.3@example.com>"},
                 {"MIME-Version", " 1.0"}, {"Content-Type", " text/plain; charset=utf-8"},
                 {"Received", " from a by b with ESMTP id X; Sun, 6 Dec 2026 18:00:00 +0000"},
                 {"Received", " from c by d with ESMTP id Y; Sun, 6 Dec 2026 18:00:00 +0000"},
                 {"X-Mailer", " bench"}};
    std::string line(72, 'x');
    for (size_t n = 0; n < body_bytes; n += line.size() + 1) m.body.push_back(line);
    return m;
}

double micros_since(std::chrono::steady_clock::time_point start, int n) {
    auto d = std::chrono::steady_clock::now() - start;
    return std::chrono::duration<double, std::micro>(d).count() / n;
}

void measure(const char* what, const DkimKey& key, const Message& m, int n) {
    auto record = key.dns_record();
    std::string sig;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        DkimBodyHash hash;
        for (const auto& l : m.body) hash.line(l);
        DkimSignRequest req;
        req.domain = "example.com";
        req.selector = "s";
        req.now = 1796000000;
        auto value = dkim_sign(key, req, m.headers, hash.finish());
        if (!value) std::abort();
        sig = *value;
    }
    double sign_us = micros_since(start, n);
    auto headers = m.headers;
    headers.insert(headers.begin(), {"DKIM-Signature", sig});
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        DkimVerifier v(headers);
        for (const auto& l : m.body) v.body_line(l);
        v.finish_body();
        if (v.verify(0, {DkimKeyLookup::Status::found, *record}, 1796000001).result != DkimResult::pass) std::abort();
    }
    double verify_us = micros_since(start, n);
    fmt::print("| {} | {:.0f} µs | {:.0f} µs |\n", what, sign_us, verify_us);
}

}  // namespace

int main(int argc, char** argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 200;
    auto rsa = DkimKey::generate(DkimKey::Type::rsa, 2048);
    auto ed = DkimKey::generate(DkimKey::Type::ed25519);
    if (!rsa || !ed) return 1;
    Message small = make_message(4096), large = make_message(1 << 20);
    fmt::print("| key, message | sign | verify |\n|---|---|---|\n");
    measure("RSA 2048, 4 KB body", *rsa, small, n);
    measure("Ed25519, 4 KB body", *ed, small, n);
    measure("RSA 2048, 1 MB body", *rsa, large, std::max(1, n / 20));
    measure("Ed25519, 1 MB body", *ed, large, std::max(1, n / 20));
}
