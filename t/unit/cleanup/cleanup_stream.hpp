// What the cleanup unit tests share: a client's record stream as smtpd
// sends it, and the queue file cleanup builds of it, parsed back.
#pragma once

#include "cleanup/cleanup_message.hpp"
#include "mail/queue_file.hpp"
#include "mail/record.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

namespace kurir::test::cleanup_stream {

using namespace kurir::mail;
using Lines = std::vector<std::string>;
using cleanup::build_queue_file;
using cleanup::CleanupInput;

inline constexpr const char* kQueueId = "2Tf9kN0005BCDFG";
inline constexpr long kNow = 1700000000;  // 2023-11-14 22:13:20 UTC

inline Config config(const std::string& extra = "") {
    auto c = Config::from_text("myhostname = mx.example\nmydomain = example\n" + extra, "/tmp/x");
    if (!c) FAIL(c.error().text);
    return std::move(*c);
}

inline util::Result<std::string> identity(std::string_view a) { return std::string(a); }

// A client's record stream.
struct Stream {
    std::vector<std::pair<std::string, std::string>> attrs = {{"origin", "smtp"},
                                                              {"client_name", "client.example"},
                                                              {"client_addr", "192.0.2.1"},
                                                              {"helo", "helo.example"},
                                                              {"protocol", "ESMTP"}};
    std::optional<std::string> sender = "sender@example.org";
    std::vector<std::pair<std::string, std::string>> rcpts = {{"", "rcpt@mx.example"}};  // orig, rcpt
    Lines lines = {"Subject: hi", "From: Someone <someone@example.org>", "body"};
    size_t max_piece = 4096;
    Lines prepended;  // P records after the content
    bool end = true;

    std::string bytes() const {
        std::string s;
        for (const auto& [n, v] : attrs) rec_append(s, rec::attr, n + "=" + v);
        if (sender) rec_append(s, rec::sender, *sender);
        for (const auto& [o, r] : rcpts) {
            if (!o.empty()) rec_append(s, rec::orig_rcpt, o);
            rec_append(s, rec::rcpt, r);
        }
        rec_append(s, rec::message, "");
        for (const auto& l : lines) rec_append_line(s, l, max_piece);
        for (const auto& p : prepended) rec_append(s, rec::prepend, p);
        if (end) rec_append(s, rec::content_end, "");
        return s;
    }
};

struct Built {
    cleanup::CleanupOutput out;
    QueueEnvelope env;
    Lines content;
};

inline Built must_build(const Config& cfg, const Stream& st, const cleanup::Canonicalize& canon = identity) {
    std::string bytes = st.bytes();
    CleanupInput in{kQueueId, kNow, 5, bytes};
    auto r = build_queue_file(cfg, in, canon);
    if (!r) FAIL("refused: " << r.error().status << " " << r.error().dsn << " " << r.error().text);
    auto env = parse_queue_file(r->file);
    if (!env) FAIL("output does not parse: " << env.error().text);
    Built b{*r, *env, {}};
    auto lines = for_each_content_line(r->file, b.env, [&](std::string_view l) { b.content.emplace_back(l); });
    REQUIRE(lines);
    return b;
}

inline cleanup::Refusal must_refuse(const Config& cfg, const Stream& st, const cleanup::Canonicalize& canon = identity) {
    std::string bytes = st.bytes();
    CleanupInput in{kQueueId, kNow, 0, bytes};
    auto r = build_queue_file(cfg, in, canon);
    if (r) FAIL("accepted, expected a refusal");
    return r.error();
}

inline size_t count_headers(const Lines& content, std::string_view prefix) {
    size_t n = 0;
    for (const auto& l : content) {
        if (l.empty()) break;  // end of the header block
        if (l.size() >= prefix.size() &&
            std::equal(prefix.begin(), prefix.end(), l.begin(),
                       [](char a, char b) { return tolower(static_cast<unsigned char>(a)) == tolower(static_cast<unsigned char>(b)); }))
            ++n;
    }
    return n;
}

inline long content_bytes(const Lines& content) {
    long n = 0;
    for (const auto& l : content) n += static_cast<long>(l.size()) + 1;
    return n;
}


}  // namespace kurir::test::cleanup_stream
