#include "anvil/anvil_service.hpp"

namespace kurir::anvil {

using mail::proto::AnvilReply;
using mail::proto::AnvilRequest;

util::Result<AnvilReply> AnvilTable::apply(Conn conn, const AnvilRequest& req) {
    std::string k = key(req.service, req.client_addr);
    auto& mine = by_conn_[conn];
    if (req.kind == AnvilRequest::Kind::connect) {
        auto it = mine.find(k);
        if (it == mine.end()) {
            if (held_ >= kMaxEntries) return util::fail("anvil table full: " + std::to_string(held_) + " entries");
            ++held_;
            it = mine.emplace(k, 0).first;
        }
        ++it->second;
        return AnvilReply{++counts_[k]};
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
    return AnvilReply{c == counts_.end() ? 0 : c->second};
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

util::Result<util::Attrs> answer(AnvilTable& table, AnvilTable::Conn conn, const util::Attrs& frame) {
    auto req = mail::proto::decode_anvil_request(frame);
    if (!req) return std::unexpected(req.error());
    auto reply = table.apply(conn, *req);
    if (!reply) return std::unexpected(reply.error());
    return mail::proto::encode(*reply);
}

}  // namespace kurir::anvil
