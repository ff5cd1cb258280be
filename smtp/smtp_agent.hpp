// One smtp process's shared state: configuration, resolver, TLS policy and
// the cache of idle SMTP connections, reused by the next delivery to the
// same nexthop (smtp_connection_cache_time_limit). Deliveries themselves
// are in smtp_delivery.cpp; many run at once on the process's event loop.
#pragma once

#include "mail/inet_interfaces.hpp"
#include "mail/mail_proto.hpp"
#include "mail/smtp_reply.hpp"
#include "server/server.hpp"
#include "smtp/lmtp_params.hpp"
#include "smtp/smtp_dns.hpp"
#include "smtp/smtp_sasl.hpp"
#include "smtp/smtp_tls.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct bufferevent;
struct event;

namespace kurir::smtp {

struct Connection {
    bufferevent* bev = nullptr;
    std::string host;      // the name we connected to
    std::string address;   // its IP address, as text
    int port = 25;
    bool unix_socket = false;  // lmtp:unix:path: address is the path, no port
    mail::EhloFeatures features;
    bool esmtp = false;
    bool tls = false;
    int uses = 0;          // transactions completed on it
    event* idle_timer = nullptr;
    std::string cache_key;
    class Agent* agent = nullptr;

    std::string relay() const { return unix_socket ? peer() : host + "[" + address + "]:" + std::to_string(port); }
    std::string peer() const { return host + "[" + address + "]"; }
    ~Connection();
};

// A recipient of one delivery: what qmgr will be told of it (offset, dsn,
// text, diagnostic, remote_mta, action: "none" when a DSN request went on
// to the server), the address, and whether it is decided yet.
struct Recipient : mail::proto::RecipientResult {
    std::string address;
    bool decided = false;
};

struct Request {
    std::string queue_id;
    std::string sender;
    std::string nexthop;
    double active_time = 0;
    double handed_time = 0;
    std::vector<Recipient> recipients;
};

// Every recipient decided; site_dead when no server of the nexthop could
// be talked to at all (qmgr then holds its other mail for a while).
using DeliveryDone = std::function<void(const Request&, bool site_dead)>;

class Agent {
public:
    // protocol: lmtp when started as the lmtp service (smtp/lmtp_params.hpp).
    // sasl: made (and its table opened) before privileges were dropped;
    // nullptr: made here from the configuration (smtp only).
    // tls: made before privileges were dropped too (OpenSSL and the CA file
    // are outside a chroot); nullptr: made here.
    static std::unique_ptr<Agent> create(server::ServerContext& ctx, std::string& error,
                                         Protocol protocol = Protocol::smtp,
                                         std::unique_ptr<SaslClient> sasl = nullptr,
                                         std::unique_ptr<TlsPolicy> tls = nullptr);
    void deliver(Request request, DeliveryDone done);

    // The connection cache: take an idle connection for key, or give one back.
    std::unique_ptr<Connection> take_cached(const std::string& key);
    void give_back(std::unique_ptr<Connection> conn);
    void drop_cached(Connection* conn);

    server::ServerContext& ctx;
    Protocol protocol = Protocol::smtp;
    // The parameter this client reads for smtp_name (lmtp_* as lmtp).
    std::string param(std::string_view smtp_name) const { return client_param(protocol, smtp_name); }
    bool lmtp() const { return protocol == Protocol::lmtp; }
    std::unique_ptr<Resolver> resolver;
    std::unique_ptr<TlsPolicy> tls;
    std::unique_ptr<SaslClient> sasl;  // nullptr: smtp_sasl_auth_enable = no
    std::string helo_name;
    // inet_protocols: the address families connected to; the source
    // address per family (smtp_bind_address, smtp_bind_address6, else the
    // one address inet_interfaces gives that family), family 0 when none.
    mail::InetProtocols protocols;
    sockaddr_storage bind4{}, bind6{};
    socklen_t bind4_len = 0, bind6_len = 0;
    // How a connection to a target is opened: empty, a TCP connect on the
    // loop. The unit tests put an in-memory peer here (a bufferevent pair),
    // returned already connected; nullptr is a refused connection.
    std::function<bufferevent*(const Target&)> open_connection;

private:
    explicit Agent(server::ServerContext& c) : ctx(c) {}
    std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

}  // namespace kurir::smtp
