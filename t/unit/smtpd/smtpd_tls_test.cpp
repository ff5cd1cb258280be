// The protocol name of the Received: header and log lines (RFC 3848).
#include "smtpd/smtpd_session.hpp"

#include <catch2/catch.hpp>

using kurir::smtpd::received_protocol;

TEST_CASE("received_protocol: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA", "[smtpd][tls]") {
    CHECK(received_protocol(false, false, false) == "SMTP");
    CHECK(received_protocol(true, false, false) == "ESMTP");
    CHECK(received_protocol(true, true, false) == "ESMTPS");
    CHECK(received_protocol(true, false, true) == "ESMTPA");
    CHECK(received_protocol(true, true, true) == "ESMTPSA");
}
