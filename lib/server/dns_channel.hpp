// Asynchronous DNS queries with c-ares on a process's libevent loop: one
// channel per process, many queries in flight, answers parsed into text
// (addresses, MX hosts, TXT strings). The servers come from
// dns_resolver_address, else /etc/resolv.conf. Mail names are absolute: no
// search list.
#pragma once

#include "mail/dns_answer.hpp"
#include "util/result.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

struct event_base;
struct ares_channeldata;

namespace kurir::server {

using mail::DnsAnswer;
using mail::DnsType;

class DnsChannel {
public:
    // servers: "IP[:PORT]" list, empty = the system's resolv.conf.
    static util::Result<std::unique_ptr<DnsChannel>> create(event_base* base, const std::vector<std::string>& servers);
    ~DnsChannel();
    DnsChannel(const DnsChannel&) = delete;
    DnsChannel& operator=(const DnsChannel&) = delete;

    // done runs once, from the loop (or at once for a name c-ares answers
    // itself), with status failed when the channel is destroyed first.
    void query(const std::string& name, DnsType type, std::function<void(DnsAnswer)> done);

    // For lookups the typed query does not cover (ares_getaddrinfo): the
    // c-ares channel, and rearm(), which must follow each request made on it.
    ares_channeldata* native();
    void rearm();

    struct Impl;

private:
    explicit DnsChannel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace kurir::server
