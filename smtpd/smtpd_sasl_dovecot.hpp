// smtpd_sasl_type = dovecot: a client of Dovecot's auth server on the unix
// socket smtpd_sasl_path, one connection per smtpd process shared by all
// its sessions (each authentication has its own request id), on the event
// loop. The connection is made when first needed and again after a loss.
#pragma once

#include "mail/dovecot_auth.hpp"
#include "smtpd/smtpd_sasl.hpp"

#include <map>

struct bufferevent;
struct event_base;

namespace kurir::smtpd {

class DovecotSaslServer : public SaslServer {
public:
    DovecotSaslServer(std::string socket_path, std::string service)
        : path_(std::move(socket_path)), service_(std::move(service)) {}
    ~DovecotSaslServer() override;
    // As Postfix: a relative smtpd_sasl_path is under the queue directory
    // (private/auth), which is also where a chrooted smtpd finds it.
    void bind(event_base* base, const std::string& queue_root) override {
        base_ = base;
        if (!path_.empty() && path_[0] != '/') path_ = queue_root + "/" + path_;
    }
    std::vector<std::string> mechanisms() const override { return {"PLAIN", "LOGIN"}; }
    std::unique_ptr<SaslExchange> start(const std::string& mechanism, const SaslClient& client) override;

    // Sends a line for request id, whose answer goes to done; false (with
    // done not called) when the server cannot be reached.
    util::Result<void> send(unsigned long id, const std::string& line, SaslDone done);
    void forget(unsigned long id) { pending_.erase(id); }
    unsigned long next_id() { return ++last_id_; }
    const std::string& service() const { return service_; }

private:
    util::Result<void> connect();
    void disconnect(const std::string& why);
    void on_line(std::string_view line);
    static void on_read(bufferevent*, void*);
    static void on_event(bufferevent*, short, void*);

    std::string path_;
    std::string service_;
    event_base* base_ = nullptr;
    bufferevent* bev_ = nullptr;
    mail::DovecotHandshake handshake_;
    std::map<unsigned long, SaslDone> pending_;
    unsigned long last_id_ = 0;
};

}  // namespace kurir::smtpd
