#include "anvil/anvil_service.hpp"

namespace kurir::anvil {

using mail::proto::AnvilReply;
using mail::proto::AnvilRequest;

long AnvilTable::rate(const std::string& k, AnvilRequest::Kind kind, long now) {
    auto it = rates_.find(k);
    if (it == rates_.end()) {
        if (rates_.size() >= kMaxRateEntries)
            std::erase_if(rates_, [&](const auto& e) { return now - e.second.start >= rate_time_unit_; });
        if (rates_.size() >= kMaxRateEntries) return 0;
        it = rates_.emplace(k, Window{now, {}}).first;
    } else if (now - it->second.start >= rate_time_unit_) {
        it->second = Window{now, {}};
    }
    return ++it->second.events[static_cast<int>(kind)];
}

util::Result<AnvilReply> AnvilTable::apply(Conn conn, const AnvilRequest& req, long now) {
    std::string k = key(req.service, req.client_addr);
    if (req.kind != AnvilRequest::Kind::connect && req.kind != AnvilRequest::Kind::disconnect)
        return AnvilReply{count(req.service, req.client_addr), rate(k, req.kind, now)};
    auto& mine = by_conn_[conn];
    if (req.kind == AnvilRequest::Kind::connect) {
        auto it = mine.find(k);
        if (it == mine.end()) {
            if (held_ >= kMaxEntries) return util::fail("anvil table full: " + std::to_string(held_) + " entries");
            ++held_;
            it = mine.emplace(k, 0).first;
        }
        ++it->second;
        long n = ++counts_[k];
        return AnvilReply{n, rate(k, req.kind, now)};
    }
    auto it = mine.find(k);
    if (it != mine.end()) {
        if (--it->second == 0) {
            mine.erase(it);
            --held_;
        }
        drop(k, 1);
    }
    if (mine.empty()) by_conn_.erase(conn);
    auto c = counts_.find(k);
    return AnvilReply{c == counts_.end() ? 0 : c->second, 0};
}

void AnvilTable::drop(const std::string& k, long n) {
    auto c = counts_.find(k);
    if (c == counts_.end()) return;
    c->second -= n;
    if (c->second <= 0) counts_.erase(c);
}

void AnvilTable::close_conn(Conn conn) {
    auto it = by_conn_.find(conn);
    if (it == by_conn_.end()) return;
    for (const auto& [k, n] : it->second) drop(k, n);
    held_ -= it->second.size();
    by_conn_.erase(it);
}

long AnvilTable::count(const std::string& service, const std::string& addr) const {
    auto c = counts_.find(key(service, addr));
    return c == counts_.end() ? 0 : c->second;
}

util::Result<util::Attrs> answer(AnvilTable& table, AnvilTable::Conn conn, const util::Attrs& frame, long now) {
    auto req = mail::proto::decode_anvil_request(frame);
    if (!req) return std::unexpected(req.error());
    auto reply = table.apply(conn, *req, now);
    if (!reply) return std::unexpected(reply.error());
    return mail::proto::encode(*reply);
}

}  // namespace kurir::anvil
