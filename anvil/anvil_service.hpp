// anvil's state as a plain object: per (service, client address) the
// connections open now, and per smtpd connection to anvil what it counted,
// so that an smtpd that goes away (exits, dies, loses its connection) gives
// its counts back. Bounded: an entry exists only for a session that is open.
#pragma once

#include "mail/mail_proto.hpp"
#include "util/attr.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace kurir::anvil {

class AnvilTable {
public:
    using Conn = uint64_t;
    static constexpr size_t kMaxEntries = 1 << 20;  // (conn, service, address) triples
    // (service, address) pairs with a rate window; past this, windows that
    // ended are dropped, and a client that finds the table full of live
    // windows is not counted (rate 0: served, never refused by mistake).
    static constexpr size_t kMaxRateEntries = 1 << 18;

    Conn open_conn() { return ++last_conn_; }
    // Applies one request from conn; the reply is the count after it. A
    // disconnect that conn never counted changes nothing (its anvil
    // connection broke since, and the count went with it).
    // Rates count requests per anvil_rate_time_unit seconds, in windows
    // that start with a client's first request after the last one ended
    // (Postfix's anvil); now is the time of the request, in seconds.
    util::Result<mail::proto::AnvilReply> apply(Conn conn, const mail::proto::AnvilRequest& req, long now);
    void set_rate_time_unit(long seconds) { rate_time_unit_ = seconds > 0 ? seconds : 1; }
    size_t rate_entries() const { return rates_.size(); }
    // conn is gone: whatever it counted is released.
    void close_conn(Conn conn);
    long count(const std::string& service, const std::string& addr) const;
    size_t entries() const { return counts_.size(); }

private:
    static std::string key(const std::string& service, const std::string& addr) { return service + ' ' + addr; }
    void drop(const std::string& k, long n);

    long rate(const std::string& k, mail::proto::AnvilRequest::Kind kind, long now);

    struct Window {
        long start = 0;
        long events[6] = {};  // by AnvilRequest::Kind
    };
    long rate_time_unit_ = 60;
    std::map<std::string, Window> rates_;
    Conn last_conn_ = 0;
    std::map<std::string, long> counts_;
    std::map<Conn, std::map<std::string, long>> by_conn_;
    size_t held_ = 0;  // entries over all of by_conn_
};

// One request frame in, one reply frame out; a malformed frame is an error
// (the caller logs it and closes the connection).
util::Result<util::Attrs> answer(AnvilTable& table, AnvilTable::Conn conn, const util::Attrs& frame, long now);

}  // namespace kurir::anvil
