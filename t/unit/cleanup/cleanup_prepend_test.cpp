#include "cleanup_stream.hpp"

#include <catch2/catch.hpp>

using namespace kurir;
using namespace kurir::mail;
using namespace kurir::test::cleanup_stream;
using cleanup::build_queue_file;
using cleanup::CleanupInput;

TEST_CASE("build_queue_file: header fields the client prepends go on top, counted in the size", "[cleanup]") {
    Config cfg = config();
    Stream st;
    st.prepended = {"Authentication-Results: mx.example;\n\tdkim=none", "X-Milter: yes"};
    Built b = must_build(cfg, st);
    REQUIRE(b.env.prepended == Lines{"Authentication-Results: mx.example;\n\tdkim=none", "X-Milter: yes"});
    REQUIRE(b.content.size() > 4);
    CHECK(b.content[0] == "Authentication-Results: mx.example;");
    CHECK(b.content[1] == "\tdkim=none");
    CHECK(b.content[2] == "X-Milter: yes");
    CHECK(b.content[3].starts_with("Received: from helo.example"));
    CHECK(b.out.size == content_bytes(b.content));
    CHECK(b.env.content_size == content_bytes(b.content));
}

TEST_CASE("build_queue_file: a prepended header must be one well-formed field, after all content", "[cleanup]") {
    Config cfg = config();
    for (std::string bad : std::vector<std::string>{"no colon", ": no name", "Bad Name: x", "X: a\nnot folded", "X: a\n", "X: a\r\n\tb",
                            "X: a\n \n\tb", std::string("X: a\0b", 6)}) {
        Stream st;
        st.prepended = {bad};
        auto r = must_refuse(cfg, st);
        CHECK(r.status == '4');
        CHECK(r.text.find("prepended header") != std::string::npos);
    }
    // Content after a P record: the stream is broken.
    Stream st;
    std::string bytes = st.bytes();
    bytes.resize(bytes.size() - 2);  // drop X
    rec_append(bytes, rec::prepend, "X-A: 1");
    rec_append_line(bytes, "more body");
    rec_append(bytes, rec::content_end, "");
    auto r = build_queue_file(cfg, CleanupInput{kQueueId, kNow, 0, bytes}, identity);
    REQUIRE_FALSE(r);
    CHECK(r.error().text.find("content after a prepended header") != std::string::npos);
    // More than header_size_limit in all.
    Stream big;
    big.prepended = {"X-Big: " + std::string(600, 'a'), "X-Big: " + std::string(600, 'b')};
    CHECK(must_refuse(config("header_size_limit = 1000\n"), big).text.find("too long") != std::string::npos);
}
