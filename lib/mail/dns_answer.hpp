// A DNS question's answer as plain data: what the restriction checks
// (mail/restrictions) read, and what server/dns_channel produces.
#pragma once

#include <string>
#include <vector>

namespace kurir::mail {

enum class DnsType { a, aaaa, mx, txt };

struct DnsAnswer {
    enum class Status {
        found,      // records holds the answer
        not_found,  // the name does not exist (NXDOMAIN)
        no_data,    // the name exists, without records of this type
        failed,     // a temporary failure (timeout, SERVFAIL, channel gone)
    };
    Status status = Status::failed;
    // a/aaaa: addresses as text; mx: "preference host" (an empty host for a
    // null MX); txt: the strings of each record, joined.
    std::vector<std::string> records;
    std::string error;  // for failed: what went wrong
};

}  // namespace kurir::mail
