#include "mail/milter_header_edit.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;
using namespace kurir::mail::milter;

TEST_CASE("the next milter is shown the message as the milters before it left it", "[milter]") {
    std::string text = "From: a@b\nSubject: hi\nX-Folded: one\n\ttwo\n\nbody line\n";
    SECTION("no edit: as split_message, the space after the colon as asked") {
        auto view = milter_view(text, false, {}, false);
        auto split = split_message(text, false);
        CHECK(view.headers == split.headers);
        CHECK(view.body == split.body);
        CHECK(milter_view(text, false, {}, true).headers.front() == std::pair<std::string, std::string>{"From", " a@b"});
    }
    SECTION("header edits at Postfix's positions, the MTA's own Received: counted, never shown") {
        std::vector<MilterEdit> edits{{'i', 0, "X-Top", "t"},      {'i', 2, "X-Two", "2"},
                                      {'m', 1, "subject", "new"}, {'m', 1, "X-Folded", ""},
                                      {'h', 0, "X-End", "e"},     {'q', 0, "held", ""}};
        auto view = milter_view(text, false, edits, false);
        CHECK(view.headers == std::vector<std::pair<std::string, std::string>>{
                                  {"X-Top", "t"}, {"X-Two", "2"}, {"From", "a@b"}, {"subject", "new"}, {"X-End", "e"}});
        CHECK(view.body == "body line\r\n");
    }
    SECTION("the text's own first field is the hidden one (cleanup's view of a queue file)") {
        auto view = milter_view("Received: by mx\n\tid 1\n" + text, true, {{'m', 1, "Received", "x"}}, false);
        REQUIRE(view.headers.size() == 4);
        CHECK(view.headers.front().first == "From");
        CHECK(view.headers.back() == std::pair<std::string, std::string>{"Received", "x"});  // none to change: added
    }
    SECTION("a replaced body, its pieces joined and its lines ended by CRLF") {
        auto view = milter_view(text, false, {{'b', 0, "new\nbo", ""}, {'b', 0, "dy\r\nlast", ""}}, false);
        CHECK(view.body == "new\r\nbody\r\nlast\r\n");
        CHECK(view.headers.size() == 3);
    }
}

TEST_CASE("a header field and its text: byte for byte", "[milter]") {
    auto f = header_field_of("Subject:  two\n\tlines");
    CHECK(f.name == "Subject");
    CHECK(f.rest == "  two\n\tlines");
    CHECK(f.text() == "Subject:  two\n\tlines");
    CHECK_FALSE(f.unseen);
}
