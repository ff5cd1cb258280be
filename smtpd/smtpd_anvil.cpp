#include "smtpd/smtpd_anvil.hpp"

#include "mail/clients.hpp"
#include "mail/mail_proto.hpp"
#include "util/log.hpp"

#include <utility>

namespace kurir::smtpd {

// Nothing to close: the client lives as long as the process (its loop may be
// gone already), and the kernel closes the socket, which is anvil's sign to
// release what this process counted.
AnvilClient::~AnvilClient() = default;

bool AnvilClient::ensure(server::ServerContext& ctx) {
    if (conn_) return true;
    server::AttrConn::Handlers h;
    h.on_frame = [this](server::AttrConn&, util::Attrs frame) {
        auto reply = mail::proto::decode_anvil_reply(frame);
        if (!reply) {
            util::msg_warn("malformed reply from anvil: {}", reply.error().text);
            return lost("closed");
        }
        if (waiting_.empty()) {
            util::msg_warn("reply from anvil that nobody asked for");
            return lost("closed");
        }
        Answer answer = std::move(waiting_.front());
        waiting_.pop_front();
        if (waiting_.empty() && conn_) conn_->set_timeouts(0, kReplyTimeout);  // idle is fine
        if (answer) answer(*reply);
    };
    h.on_fault = [this](server::AttrConn&, server::AttrConn::Fault kind, const util::Error& e) {
        lost(kind == server::AttrConn::Fault::timeout ? "timed out" : e.text);
    };
    auto conn = server::AttrConn::connect(ctx.base, ctx.queue.private_socket(mail::service::anvil), std::move(h));
    if (!conn) {
        util::msg_warn("{}; serving the client without a connection count or rate", conn.error().text);
        return false;
    }
    conn_ = *conn;
    conn_->set_timeouts(0, kReplyTimeout);
    return true;
}

void AnvilClient::send(const util::Attrs& frame, Answer answer) {
    if (waiting_.empty()) conn_->set_timeouts(kReplyTimeout, kReplyTimeout);
    waiting_.push_back(std::move(answer));
    conn_->write(frame);
}

// The connection is gone: everyone waiting is served without a count.
void AnvilClient::lost(std::string_view why) {
    if (conn_) std::exchange(conn_, nullptr)->close();
    if (waiting_.empty())
        util::msg_warn("anvil connection {}", why);
    else
        util::msg_warn("anvil connection {}; serving {} waiting client(s) without a connection count", why,
                       waiting_.size());
    auto waiting = std::exchange(waiting_, {});
    for (auto& answer : waiting)
        if (answer) answer(std::nullopt);
}

void AnvilClient::request(server::ServerContext& ctx, mail::proto::AnvilRequest::Kind kind,
                          const std::string& service, const std::string& addr, Answer answer) {
    if (!ensure(ctx)) return answer(std::nullopt);
    send(mail::proto::encode(mail::proto::AnvilRequest{kind, service, addr}), std::move(answer));
}

void AnvilClient::disconnect(server::ServerContext& ctx, const std::string& service, const std::string& addr) {
    if (!ensure(ctx)) return;
    send(mail::proto::encode(mail::proto::AnvilRequest{mail::proto::AnvilRequest::Kind::disconnect, service, addr}),
         nullptr);
}

}  // namespace kurir::smtpd
