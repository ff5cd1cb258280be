// Delivery destinations in Postfix's syntax, as relayhost and transport_maps
// write them: "example.com" (MX lookup), "example.com:2525" (MX lookup, that
// port), "[mx.example.com]" and "[192.0.2.1]:2526" (no MX lookup). A pure
// parser over untrusted table values.
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>

namespace kurir::mail {

struct Nexthop {
    std::string host;  // lowercased name or IP literal, without brackets
    int port = 25;
    bool use_mx = true;
};

util::Result<Nexthop> parse_nexthop(std::string_view text, int default_port = 25);

// "transport:nexthop" as a transport_maps value; either part may be empty.
struct TransportSpec {
    std::string transport;
    std::string nexthop;
};
// error:, retry: and discard: take text, not a host, after the colon.
bool free_text_transport(std::string_view transport);
util::Result<TransportSpec> parse_transport_spec(std::string_view value);

}  // namespace kurir::mail
