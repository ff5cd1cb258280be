#include "mail/header.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace kurir::mail;

TEST_CASE("header_name finds field names and rejects non-headers", "[header]") {
    struct Case {
        std::string line, name;
    };
    std::vector<Case> cases = {
        {"Subject: hi", "Subject"},
        {"Subject:hi", "Subject"},
        {"Subject:", "Subject"},
        {"Subject : hi", "Subject"},     // blanks before the colon are dropped
        {"X-Spam\t: yes", "X-Spam"},
        {"Received: from a (b [c]) by d", "Received"},
        {"a:b:c", "a"},
        {"Message-ID: <x@y>", "Message-ID"},
        {"!#$%&'*+-.^_`|~: ok", "!#$%&'*+-.^_`|~"},
        {"", ""},
        {"no colon here", ""},
        {": empty name", ""},
        {"  : blank name", ""},
        {" Subject: continuation-looking", ""},
        {"\tSubject: x", ""},
        {"Bad Name: x", ""},
        {"Name\x7f: x", ""},
        {"N\x01me: x", ""},
        {"\xc3\x84rger: x", ""},
        {"From someone@example Mon Jan 1", ""},
        {std::string(998, 'n') + ": longest", std::string(998, 'n')},
        {std::string(999, 'n') + ": too long (smtpd judges a line by its first kilobyte)", ""},
    };
    for (const auto& c : cases) {
        INFO("line: " << c.line);
        CHECK(header_name(c.line) == c.name);
    }
}

TEST_CASE("is_continuation and header_is", "[header]") {
    CHECK(is_continuation(" folded"));
    CHECK(is_continuation("\tfolded"));
    CHECK(!is_continuation(""));
    CHECK(!is_continuation("Subject: x"));
    CHECK(!is_continuation("\r"));

    CHECK(header_is("Subject: x", "Subject"));
    CHECK(header_is("subject: x", "Subject"));
    CHECK(header_is("SUBJECT: x", "subject"));
    CHECK(header_is("Message-Id: <a@b>", "Message-ID"));
    CHECK(header_is("Date : Mon", "date"));
    CHECK(!header_is("Subjects: x", "Subject"));
    CHECK(!header_is("Subj: x", "Subject"));
    CHECK(!header_is("X-Subject: x", "Subject"));
    CHECK(!header_is(" Subject: x", "Subject"));
    CHECK(!header_is("Subject x", "Subject"));
}
