#include "mail/queue_file.hpp"

#include "../../test_util.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <functional>

using namespace kurir::mail;

namespace {

// A queue file as a list of records, so tests can drop or change one.
using Records = std::vector<std::pair<char, std::string>>;

Records sample_records() {
    return {
        {'V', "1"},
        {'T', "1700000000 123456"},
        {'Z', "42"},
        {'S', "sender@example.org"},
        {'A', "origin=smtp"},
        {'A', "client_addr=192.0.2.1"},
        {'A', "empty="},
        {'O', "Orig@example.com"},
        {'R', "orig@example.com"},
        {'O', "b@y"},
        {'R', "b@y"},
        {'D', "c@z"},
        {'M', ""},
        {'N', "Subject: hi"},
        {'N', ""},
        {'L', "abc"},
        {'L', "def"},
        {'N', "ghi"},
        {'N', ".leading dot"},
        {'X', ""},
        {'E', ""},
    };
}

std::string build(const Records& recs, std::vector<size_t>* offsets = nullptr) {
    std::string out;
    for (const auto& [t, d] : recs) {
        if (offsets) offsets->push_back(out.size());
        rec_append(out, t, d);
    }
    return out;
}

Records without(Records recs, char type) {
    std::erase_if(recs, [&](const auto& r) { return r.first == type; });
    return recs;
}

std::vector<std::string> content_lines(std::string_view bytes, const QueueEnvelope& env) {
    std::vector<std::string> lines;
    auto r = for_each_content_line(bytes, env, [&](std::string_view l) { lines.emplace_back(l); });
    REQUIRE(r);
    return lines;
}

}  // namespace

TEST_CASE("parse_queue_file: a complete file round-trips", "[queue_file]") {
    std::vector<size_t> offs;
    Records recs = sample_records();
    std::string file = build(recs, &offs);
    auto env = parse_queue_file(file);
    REQUIRE(env);
    CHECK(env->arrival_sec == 1700000000);
    CHECK(env->arrival_usec == 123456);
    CHECK(env->content_size == 42);
    CHECK(env->sender == "sender@example.org");
    REQUIRE(env->attrs.size() == 3);
    CHECK(env->attr("origin") == "smtp");
    CHECK(env->attr("client_addr") == "192.0.2.1");
    CHECK(env->attr("empty") == "");
    CHECK(env->attr("missing") == "");

    REQUIRE(env->recipients.size() == 3);
    CHECK(env->recipients[0].address == "orig@example.com");
    CHECK(env->recipients[0].original == "Orig@example.com");
    CHECK(env->recipients[0].offset == offs[8]);
    CHECK(!env->recipients[0].done);
    CHECK(env->recipients[1].address == "b@y");
    CHECK(env->recipients[1].original == "");  // same as the address
    CHECK(env->recipients[1].offset == offs[10]);
    CHECK(env->recipients[2].address == "c@z");
    CHECK(env->recipients[2].done);
    CHECK(env->recipients[2].original == "");
    for (const auto& rc : env->recipients) {
        CHECK(file[rc.offset] == (rc.done ? 'D' : 'R'));
        CHECK(rc.defer_reason.empty());
    }
    CHECK(env->content_offset == offs[13]);  // the first record after M
    CHECK(env->content_end == offs[19]);     // the X record
    CHECK(file[env->content_end] == 'X');

    CHECK(content_lines(file, *env) ==
          std::vector<std::string>{"Subject: hi", "", "abcdefghi", ".leading dot"});
}

TEST_CASE("parse_queue_file: an empty content and a minimal envelope", "[queue_file]") {
    std::string file = build({{'V', "1"}, {'T', "5"}, {'S', ""}, {'R', "a@b"}, {'M', ""}, {'X', ""}, {'E', ""}});
    auto env = parse_queue_file(file);
    REQUIRE(env);
    CHECK(env->arrival_sec == 5);
    CHECK(env->arrival_usec == 0);
    CHECK(env->sender.empty());  // the null sender
    CHECK(env->content_offset == env->content_end);
    CHECK(content_lines(file, *env).empty());
}

TEST_CASE("parse_queue_file: every truncation is an error", "[queue_file]") {
    std::string file = build(sample_records());
    for (size_t cut = 0; cut < file.size(); ++cut) {
        INFO("truncated to " << cut << " of " << file.size());
        auto env = parse_queue_file(std::string_view(file).substr(0, cut));
        CHECK(!env);
    }
}

TEST_CASE("parse_queue_file: malformed files are rejected", "[queue_file]") {
    auto replace = [](Records recs, size_t i, std::pair<char, std::string> with) {
        recs[i] = std::move(with);
        return recs;
    };
    auto insert = [](Records recs, size_t i, std::pair<char, std::string> what) {
        recs.insert(recs.begin() + static_cast<long>(i), std::move(what));
        return recs;
    };
    Records base = sample_records();
    struct Case {
        const char* what;
        std::string file;
        std::string why;
    };
    std::vector<Case> cases = {
        {"missing version", build(without(base, 'V')), "lacks version"},
        {"missing time", build(without(base, 'T')), "lacks version"},
        {"missing sender", build(without(base, 'S')), "lacks version"},
        {"no recipients", build(without(without(base, 'R'), 'D')), "no recipients"},
        {"unsupported version", build(replace(base, 0, {'V', "2"})), "version"},
        {"bad arrival time", build(replace(base, 1, {'T', "soon"})), "arrival"},
        {"bad usec", build(replace(base, 1, {'T', "1 x"})), "arrival"},
        {"bad size", build(replace(base, 2, {'Z', "-1"})), "size"},
        {"second sender", build(insert(base, 4, {'S', "x@y"})), "second sender"},
        {"attribute without '='", build(replace(base, 4, {'A', "origin"})), "attribute"},
        {"empty recipient", build(replace(base, 10, {'R', ""})), "empty recipient"},
        {"bad defer record", build(insert(base, 11, {'W', "x reason"})), "defer"},
        {"content line in the envelope", build(insert(base, 3, {'N', "x"})), "in envelope"},
        {"end record in the envelope", build(insert(base, 3, {'E', ""})), "in envelope"},
        {"recipient in the content", build(insert(base, 14, {'R', "x@y"})), "in content"},
        {"end record in the content", build(insert(base, 14, {'E', ""})), "in content"},
        {"second M", build(insert(base, 14, {'M', ""})), "in content"},
        {"sender after the content", build(insert(base, 20, {'S', "x@y"})), "after content"},
        {"content after the content", build(insert(base, 20, {'N', "x"})), "after content"},
        {"content ends inside an L piece", build(insert(base, 19, {'L', "tail"})), "inside a line"},
        {"no X record", build(without(base, 'X')), "in content"},
        {"no E record", build(without(base, 'E')), "truncated"},
        {"no M record", build(without(base, 'M')), "in envelope"},
        {"empty input", "", "truncated"},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            auto env = parse_queue_file(c.file);
            REQUIRE(!env);
            CHECK_THAT(env.error().text, Catch::Contains(c.why));
        }
    }
}

TEST_CASE("parse_queue_file: a garbled type byte anywhere is rejected", "[queue_file]") {
    std::vector<size_t> offs;
    Records recs = sample_records();
    std::string file = build(recs, &offs);
    for (size_t i = 0; i < offs.size(); ++i) {
        for (char bad : {'a', '\0', '1', '\xff'}) {
            std::string f = file;
            f[offs[i]] = bad;
            INFO("record " << i << " type byte " << int(bad));
            auto env = parse_queue_file(f);
            REQUIRE(!env);
            CHECK_THAT(env.error().text, Catch::Contains("garbled"));
        }
    }
}

TEST_CASE("parse_queue_file: defer records and appended batches", "[queue_file]") {
    std::vector<size_t> offs;
    Records base = sample_records();
    build(base, &offs);
    size_t r0 = offs[8], r1 = offs[10];
    // W in the envelope (before M), between X and E, and in batches appended after E.
    Records recs = base;
    recs.insert(recs.begin() + 12, {'W', std::to_string(r0) + " 4.4.1 first"});
    std::vector<size_t> offs2;
    std::string file = build(recs, &offs2);
    // Inserting before M does not move the R records, which come earlier.
    REQUIRE(offs2[8] == r0);
    REQUIRE(offs2[10] == r1);
    {
        auto env = parse_queue_file(file);
        REQUIRE(env);
        CHECK(env->recipients[0].defer_reason == "4.4.1 first");
        CHECK(env->recipients[1].defer_reason.empty());
    }
    std::string tail_w = file.substr(0, file.size() - 2);  // without the final E
    rec_append(tail_w, 'W', std::to_string(r1) + " 4.4.2 between X and E");
    rec_append(tail_w, 'E', "");
    // First appended batch.
    rec_append(tail_w, 'W', std::to_string(r0) + " 4.4.3 later batch");
    rec_append(tail_w, 'W', "999999 4.0.0 no such recipient");  // matches nothing: ignored
    rec_append(tail_w, 'E', "");
    // Second batch, with a W carrying no reason.
    rec_append(tail_w, 'W', std::to_string(r1));
    rec_append(tail_w, 'E', "");

    auto env = parse_queue_file(tail_w);
    REQUIRE(env);
    REQUIRE(env->recipients.size() == 3);
    CHECK(env->recipients[0].defer_reason == "4.4.3 later batch");  // later records win
    CHECK(env->recipients[1].defer_reason == "");
    CHECK(env->recipients[2].defer_reason == "");

    // Stop before the second batch: the reason from between X and E stays.
    std::string upto = tail_w;
    {
        std::string w;
        rec_append(w, 'W', std::to_string(r1));
        rec_append(w, 'E', "");
        upto.resize(upto.size() - w.size());
    }
    auto env2 = parse_queue_file(upto);
    REQUIRE(env2);
    CHECK(env2->recipients[0].defer_reason == "4.4.3 later batch");
    CHECK(env2->recipients[1].defer_reason == "4.4.2 between X and E");
}

TEST_CASE("parse_queue_file: a torn tail after the first E is ignored", "[queue_file]") {
    std::string file = build(sample_records());
    auto whole = parse_queue_file(file);
    REQUIRE(whole);
    std::string batch;
    rec_append(batch, 'W', std::to_string(whole->recipients[0].offset) + " 4.4.1 deferred");
    rec_append(batch, 'E', "");
    // Every cut inside an appended batch still parses, with the first E's data.
    for (size_t cut = 0; cut <= batch.size(); ++cut) {
        INFO("batch cut at " << cut);
        std::string f = file + batch.substr(0, cut);
        auto env = parse_queue_file(f);
        REQUIRE(env);
        CHECK(env->recipients.size() == 3);
        CHECK(env->content_end == whole->content_end);
    }
    // Garbage after the first E is a torn tail too.
    auto env = parse_queue_file(file + std::string("\x01\x02garbage", 9));
    REQUIRE(env);
    CHECK(env->sender == "sender@example.org");
}

TEST_CASE("mark_recipient_done flips R to D in place", "[queue_file]") {
    kurir::test::TempDir tmp;
    std::string path = tmp / "QFILE";
    std::string file = build(sample_records());
    kurir::test::spit(path, file);
    auto env = parse_queue_file(file);
    REQUIRE(env);
    REQUIRE(!env->recipients[1].done);

    int fd = ::open(path.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    auto r = mark_recipient_done(fd, env->recipients[1].offset);
    ::close(fd);
    REQUIRE(r);

    std::string after = kurir::test::slurp(path);
    REQUIRE(after.size() == file.size());
    size_t diffs = 0;
    for (size_t i = 0; i < file.size(); ++i) diffs += file[i] != after[i];
    CHECK(diffs == 1);
    auto env2 = parse_queue_file(after);
    REQUIRE(env2);
    CHECK(!env2->recipients[0].done);
    CHECK(env2->recipients[1].done);
    CHECK(env2->recipients[1].address == "b@y");
    CHECK(env2->recipients[2].done);

    CHECK(!mark_recipient_done(-1, 0));
}

TEST_CASE("for_each_content_line joins L pieces, including long ones", "[queue_file]") {
    std::string body;
    std::vector<std::string> lines = {"Subject: long", "", std::string(10000, 'a') + "end", "", "x",
                                      std::string(4096, 'b'), std::string(4097, 'c')};
    std::string file;
    rec_append(file, 'V', "1");
    rec_append(file, 'T', "1 0");
    rec_append(file, 'S', "s@x");
    rec_append(file, 'R', "r@x");
    rec_append(file, 'M', "");
    for (const auto& l : lines) rec_append_line(file, l);
    rec_append(file, 'L', "");  // an empty piece joins nothing
    rec_append(file, 'N', "last");
    rec_append(file, 'X', "");
    rec_append(file, 'E', "");
    auto env = parse_queue_file(file);
    REQUIRE(env);
    lines.push_back("last");
    CHECK(content_lines(file, *env) == lines);
}

TEST_CASE("parse_queue_file: recipients may be optional (sendmail -t maildrop files)", "[queue_file]") {
    std::string file = build(without(without(sample_records(), 'R'), 'D'));
    auto strict = parse_queue_file(file);
    REQUIRE(!strict);
    CHECK_THAT(strict.error().text, Catch::Contains("no recipients"));
    auto loose = parse_queue_file(file, RecipientsRequired::no);
    REQUIRE(loose);
    CHECK(loose->recipients.empty());
    CHECK(loose->sender == "sender@example.org");
    CHECK(content_lines(file, *loose) == std::vector<std::string>{"Subject: hi", "", "abcdefghi", ".leading dot"});
    // Everything else stays as strict.
    CHECK(!parse_queue_file(build(without(sample_records(), 'S')), RecipientsRequired::no));
    std::string whole = build(sample_records());
    for (size_t cut = 0; cut < whole.size(); ++cut) CHECK(!parse_queue_file(whole.substr(0, cut), RecipientsRequired::no));
}

TEST_CASE("parse_queue_file: DSN records belong to the next recipient; state attributes in the tail", "[queue_file]") {
    std::string file = build({{'V', "1"}, {'T', "5"}, {'S', "s@x"}, {'A', "dsn_ret=HDRS"}, {'Q', "6"},
                              {'U', "rfc822;Orig@x"}, {'R', "a@b"}, {'R', "c@d"}, {'M', ""}, {'N', "x"}, {'X', ""},
                              {'E', ""}, {'A', "delay_warned=1"}, {'W', "0 later"}, {'E', ""}});
    auto env = parse_queue_file(file);
    REQUIRE(env);
    REQUIRE(env->recipients.size() == 2);
    CHECK(env->recipients[0].notify == 6);
    CHECK(env->recipients[0].orcpt == "rfc822;Orig@x");
    CHECK(env->recipients[1].notify == 0);
    CHECK(env->recipients[1].orcpt.empty());
    CHECK(env->attr("dsn_ret") == "HDRS");
    CHECK(env->attr("delay_warned") == "1");
    for (const char* bad : {"16", "-1", "x", ""}) {
        INFO(bad);
        CHECK_FALSE(parse_queue_file(build({{'V', "1"}, {'T', "5"}, {'S', ""}, {'Q', bad}, {'R', "a@b"}, {'M', ""},
                                            {'X', ""}, {'E', ""}})));
    }
    // State attributes only after the content, not inside it.
    CHECK_FALSE(parse_queue_file(build({{'V', "1"}, {'T', "5"}, {'S', ""}, {'R', "a@b"}, {'M', ""}, {'A', "x=1"},
                                        {'X', ""}, {'E', ""}})));
}

TEST_CASE("parse_queue_file: P fields after X are read before the content", "[queue_file]") {
    Records recs = sample_records();
    recs.insert(recs.end() - 1, {'P', "DKIM-Signature: v=1;\n\tb=abc"});
    recs.insert(recs.end() - 1, {'P', "X-Second: 2"});
    std::string bytes = build(recs);
    auto env = parse_queue_file(bytes);
    REQUIRE(env);
    CHECK(env->prepended == std::vector<std::string>{"DKIM-Signature: v=1;\n\tb=abc", "X-Second: 2"});
    auto lines = content_lines(bytes, *env);
    REQUIRE(lines.size() > 4);
    CHECK(lines[0] == "DKIM-Signature: v=1;");
    CHECK(lines[1] == "\tb=abc");
    CHECK(lines[2] == "X-Second: 2");
    CHECK(lines[3] == "Subject: hi");
}

TEST_CASE("parse_queue_file: a malformed or misplaced P record is rejected", "[queue_file]") {
    for (std::string bad : std::vector<std::string>{"", "no colon", "X: a\nb", "X: a\r"}) {
        Records recs = sample_records();
        recs.insert(recs.end() - 1, {'P', bad});
        auto env = parse_queue_file(build(recs));
        REQUIRE_FALSE(env);
        CHECK(env.error().text.find("malformed prepended header") != std::string::npos);
    }
    Records in_content = sample_records();
    in_content.insert(in_content.end() - 3, {'P', "X: 1"});
    CHECK_FALSE(parse_queue_file(build(in_content)));
    Records in_envelope = sample_records();
    in_envelope.insert(in_envelope.begin() + 4, {'P', "X: 1"});
    CHECK_FALSE(parse_queue_file(build(in_envelope)));
}

TEST_CASE("is_prepend_field and rec_append_field", "[queue_file]") {
    CHECK(is_prepend_field("X:"));
    CHECK(is_prepend_field("Authentication-Results: a;\n\tdkim=pass\n  x"));
    CHECK_FALSE(is_prepend_field("X: a\n\t"));
    CHECK_FALSE(is_prepend_field("X\x80: a"));
    std::string out;
    rec_append_field(out, "A: 1\n\t2", 4096);
    std::string want;
    rec_append(want, 'N', "A: 1");
    rec_append(want, 'N', "\t2");
    CHECK(out == want);
}
