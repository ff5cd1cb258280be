// NAME
//   smtp - deliver mail to remote SMTP servers
// DESCRIPTION
//   Serves private/smtp: each connection from qmgr carries one
//   delivery-request frame and is answered with one delivery-result frame
//   (mail/mail_proto.hpp): a result per recipient, with the remote reply and
//   host where a server answered, and site=dead when no server of the
//   nexthop could be reached. A malformed request is logged and the
//   connection closed; qmgr then defers its recipients. Many
//   deliveries run at once on one event loop: MX and address lookups with
//   c-ares, the SMTP conversation (PIPELINING, SIZE, 8BITMIME, STARTTLS per
//   smtp_tls_security_level) and a cache of idle connections reused by the
//   next delivery to the same nexthop. Reads the message from active/ID;
//   logs each recipient in Postfix's layout.
// SECURITY
//   Runs as mail_owner, may be chrooted. Every reply from the network is
//   parsed strictly (mail/smtp_reply.hpp) and bounded in size.
// CONFIGURATION PARAMETERS
//   smtp_*_timeout, smtp_helo_name, smtp_mx_address_limit,
//   smtp_destination_recipient_limit, smtp_connection_cache_time_limit,
//   smtp_tls_security_level, smtp_tls_CAfile, dns_resolver_address
#include "mail/delivery_log.hpp"
#include "mail/mail_proto.hpp"
#include "server/server.hpp"
#include "smtp/smtp_agent.hpp"
#include "util/attr.hpp"
#include "util/log.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <cstdlib>

using namespace kurir;

namespace {

// One qmgr connection: read the request frame, deliver, write the answer.
struct QmgrConn {
    smtp::Agent* agent;
    bufferevent* bev = nullptr;
    server::ClientDone done;
    bool delivering = false;

    void close() {
        bufferevent_free(bev);
        server::ClientDone d = std::move(done);
        delete this;
        d();
    }

    static void on_read(bufferevent* bev, void* arg) {
        auto* c = static_cast<QmgrConn*>(arg);
        evbuffer* in = bufferevent_get_input(bev);
        size_t len = evbuffer_get_length(in);
        if (c->delivering) {
            util::msg_warn("smtp: {} bytes after the delivery request; ignored", len);
            evbuffer_drain(in, len);
            return;
        }
        auto frame = util::attr_decode(std::string_view(reinterpret_cast<char*>(evbuffer_pullup(in, -1)), len));
        if (!frame) {
            util::msg_warn("smtp: malformed request: {}", frame.error().text);
            return c->close();
        }
        if (!*frame) return;
        if ((*frame)->consumed != len) {
            util::msg_warn("smtp: {} bytes after the delivery request", len - (*frame)->consumed);
            return c->close();
        }
        auto decoded = mail::proto::decode_delivery_request((*frame)->attrs);
        if (!decoded) {
            util::msg_warn("smtp: refused request: {}", decoded.error().text);
            return c->close();
        }
        evbuffer_drain(in, len);
        c->delivering = true;
        bufferevent_set_timeouts(bev, nullptr, nullptr);
        smtp::Request req;
        req.queue_id = std::move(decoded->queue_id);
        req.sender = std::move(decoded->sender);
        req.nexthop = std::move(decoded->nexthop);
        req.active_time = static_cast<double>(decoded->active_usec) / 1e6;
        req.handed_time = mail::now_seconds();
        for (auto& r : decoded->recipients) {
            smtp::Recipient rc;
            rc.offset = r.offset;
            rc.address = std::move(r.address);
            req.recipients.push_back(std::move(rc));
        }
        c->agent->deliver(std::move(req), [c](const smtp::Request& done, bool site_dead) { c->answer(done, site_dead); });
    }

    void answer(const smtp::Request& req, bool site_dead) {
        mail::proto::DeliveryResult result{site_dead, {}};
        for (const auto& r : req.recipients)
            result.recipients.push_back({r.offset, r.dsn, r.text, r.diagnostic, r.remote_mta, r.action});
        std::string frame = util::attr_encode(mail::proto::encode(result));
        bufferevent_setcb(bev, nullptr, on_written, on_event, this);
        bufferevent_write(bev, frame.data(), frame.size());
    }

    static void on_written(bufferevent*, void* arg) { static_cast<QmgrConn*>(arg)->close(); }
    static void on_event(bufferevent*, short, void* arg) {
        auto* c = static_cast<QmgrConn*>(arg);
        // qmgr went away mid-delivery: finish it anyway (its results are logged);
        // the connection goes when the answer cannot be written.
        if (c->delivering && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
            bufferevent_disable(c->bev, EV_READ);
            return;
        }
        c->close();
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::unique_ptr<smtp::Agent> agent;
    server::Hooks hooks;
    // Cached connections and the resolver live on the loop: gone before it is.
    hooks.before_exit = [&](server::ServerContext&) { agent.reset(); };
    return server::multi_server_main(
        argc, argv, "smtp",
        [&](server::ServerContext& ctx, util::Fd client, server::ClientDone done) {
            if (!agent) {
                std::string error;
                agent = smtp::Agent::create(ctx, error);
                if (!agent) {
                    util::msg_warn("smtp: {}", error);
                    std::exit(75);
                }
            }
            auto* c = new QmgrConn{agent.get(), nullptr, std::move(done)};
            c->bev = bufferevent_socket_new(ctx.base, client.release(), BEV_OPT_CLOSE_ON_FREE);
            bufferevent_setcb(c->bev, QmgrConn::on_read, nullptr, QmgrConn::on_event, c);
            struct timeval tv {static_cast<long>(ctx.config.seconds("ipc_timeout")), 0};
            bufferevent_set_timeouts(c->bev, &tv, &tv);
            bufferevent_enable(c->bev, EV_READ | EV_WRITE);
        },
        hooks);
}
