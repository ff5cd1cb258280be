#include "mail/queue_listing.hpp"

#include <catch2/catch.hpp>

using namespace kurir::mail;

TEST_CASE("postqueue -p layout: header, markers, reasons, recipients, trailer") {
    CHECK(format_postqueue({}) == "Mail queue is empty\n");
    ListedMessage a{"active", "4jXv000000BBBBB", 0, 1500, "a@b", {{"u@x", ""}}, -1};
    ListedMessage h{"hold", "4jXv000000CCCCC", 0, 600, "", {{"v@y", "connect refused"}, {"w@y", "connect refused"}}, -1};
    std::string out = format_postqueue({a, h});
    CHECK(out.starts_with("-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"));
    CHECK(out.find("4jXv000000BBBBB*    1500 ") != std::string::npos);
    CHECK(out.find("4jXv000000CCCCC!     600 ") != std::string::npos);
    CHECK(out.find("MAILER-DAEMON") != std::string::npos);
    CHECK(out.find("        (connect refused)\n") != std::string::npos);
    // One reason line for a run of recipients with the same reason.
    CHECK(out.find("(connect refused)") == out.rfind("(connect refused)"));
    CHECK(out.find(std::string(41, ' ') + "u@x\n") != std::string::npos);
    CHECK(out.ends_with("\n-- 3 Kbytes in 2 Requests.\n"));
}

TEST_CASE("postqueue -j lines use Postfix's field names and escape strings") {
    ListedMessage m{"deferred", "4jXv000000BBBBB", 1795411828, 218, "a\"b@c", {{"u@x", "line\nbreak"}, {"v@x", ""}}, -1};
    std::string line = format_json_line(m);
    CHECK(line ==
          "{\"queue_name\": \"deferred\", \"queue_id\": \"4jXv000000BBBBB\", \"arrival_time\": 1795411828, "
          "\"message_size\": 218, \"forced_expire\": false, \"sender\": \"a\\\"b@c\", \"recipients\": "
          "[{\"address\": \"u@x\", \"delay_reason\": \"line\\nbreak\"}, {\"address\": \"v@x\"}]}\n");
    m.forced_expire = true;
    CHECK(format_json_line(m).find("\"forced_expire\": true, ") != std::string::npos);
}
