#include "mail/record.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace kurir::mail;

TEST_CASE("records round-trip with lengths across varint boundaries", "[record]") {
    struct Case {
        size_t len;
        size_t header;  // type byte + varint bytes
    };
    std::vector<Case> cases = {{0, 2},       {1, 2},       {127, 2},       {128, 3},        {300, 3},
                               {16383, 3},   {16384, 4},   {(1u << 21) - 1, 4}, {1u << 21, 5}};
    for (const auto& c : cases) {
        INFO("length " << c.len);
        std::string data(c.len, '\0');
        for (size_t i = 0; i < c.len; ++i) data[i] = static_cast<char>(i * 7 + 3);
        std::string out = "junk";
        rec_append(out, 'N', data);
        REQUIRE(out.size() == 4 + c.header + c.len);
        size_t pos = 4;
        RecView r;
        REQUIRE(rec_next(out, pos, r) == RecStatus::ok);
        CHECK(r.type == 'N');
        CHECK(r.offset == 4);
        CHECK(pos == out.size());
        CHECK(r.data == data);
        // Every proper prefix of the record asks for more.
        for (size_t cut : {size_t(4), size_t(5), size_t(4 + c.header - 1), size_t(4 + c.header),
                           out.size() - 1}) {
            if (cut >= out.size()) continue;
            size_t p = 4;
            RecView rr;
            CHECK(rec_next(std::string_view(out).substr(0, cut), p, rr) == RecStatus::need_more);
            CHECK(p == 4);
        }
    }
}

TEST_CASE("rec_next walks a sequence and reports offsets", "[record]") {
    std::string buf;
    std::vector<std::pair<char, std::string>> recs = {
        {'V', "1"}, {'T', "1 2"}, {'S', ""}, {'R', std::string(200, 'r')}, {'M', ""}, {'N', "x"}, {'E', ""}};
    std::vector<size_t> offsets;
    for (const auto& [t, d] : recs) {
        offsets.push_back(buf.size());
        rec_append(buf, t, d);
    }
    size_t pos = 0;
    RecView r;
    for (size_t i = 0; i < recs.size(); ++i) {
        REQUIRE(rec_next(buf, pos, r) == RecStatus::ok);
        CHECK(r.type == recs[i].first);
        CHECK(r.data == recs[i].second);
        CHECK(r.offset == offsets[i]);
    }
    CHECK(pos == buf.size());
    CHECK(rec_next(buf, pos, r) == RecStatus::need_more);
    // Byte by byte: need_more until each record is whole.
    for (size_t cut = 0; cut <= buf.size(); ++cut) {
        std::string_view prefix = std::string_view(buf).substr(0, cut);
        size_t p = 0;
        size_t whole = 0;
        while (rec_next(prefix, p, r) == RecStatus::ok) ++whole;
        size_t expect = 0;
        for (size_t i = 0; i < recs.size(); ++i) {
            size_t end = i + 1 < recs.size() ? offsets[i + 1] : buf.size();
            if (end <= cut) expect = i + 1;
        }
        CHECK(whole == expect);
    }
}

TEST_CASE("rec_next rejects garbled records", "[record]") {
    RecView r;
    struct Case {
        const char* what;
        std::string bytes;
    };
    std::vector<Case> cases = {
        {"lower-case type", std::string("n\x01x", 3)},
        {"NUL type", std::string("\0\x01x", 3)},
        {"digit type", std::string("1\x01x", 3)},
        {"8-bit type", std::string("\xc3\x01x", 3)},
        {"varint of six bytes", std::string("N\x80\x80\x80\x80\x80\x01", 7)},
        {"length over kMaxRecord", std::string("N\x81\x80\x80\x20", 5)},  // 1 + (0x20 << 21) = 64 MiB + 1
    };
    for (const auto& c : cases) {
        INFO(c.what);
        size_t pos = 0;
        CHECK(rec_next(c.bytes, pos, r) == RecStatus::bad);
        CHECK(pos == 0);
    }
    // Exactly kMaxRecord is only waiting for data.
    std::string max("N\x80\x80\x80\x20", 5);
    size_t pos = 0;
    CHECK(rec_next(max, pos, r) == RecStatus::need_more);
}

TEST_CASE("rec_append_line splits long lines into L parts then N", "[record]") {
    struct Case {
        std::string line;
        size_t max;
        std::vector<std::pair<char, std::string>> want;
    };
    std::vector<Case> cases = {
        {"", 4, {{'N', ""}}},
        {"abc", 4, {{'N', "abc"}}},
        {"abcd", 4, {{'N', "abcd"}}},
        {"abcde", 4, {{'L', "abcd"}, {'N', "e"}}},
        {"abcdefgh", 4, {{'L', "abcd"}, {'N', "efgh"}}},
        {"abcdefghij", 4, {{'L', "abcd"}, {'L', "efgh"}, {'N', "ij"}}},
        {std::string(10000, 'x'), 4096,
         {{'L', std::string(4096, 'x')}, {'L', std::string(4096, 'x')}, {'N', std::string(1808, 'x')}}},
    };
    for (const auto& c : cases) {
        INFO("line of " << c.line.size() << " max " << c.max);
        std::string out;
        rec_append_line(out, c.line, c.max);
        std::vector<std::pair<char, std::string>> got;
        size_t pos = 0;
        RecView r;
        while (rec_next(out, pos, r) == RecStatus::ok) got.emplace_back(r.type, std::string(r.data));
        CHECK(pos == out.size());
        CHECK(got == c.want);
    }
    std::string def;
    rec_append_line(def, std::string(4097, 'y'));
    size_t pos = 0;
    RecView r;
    REQUIRE(rec_next(def, pos, r) == RecStatus::ok);
    CHECK(r.type == rec::part);
    CHECK(r.data.size() == 4096);
}
