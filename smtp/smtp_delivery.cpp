// One delivery request on the event loop: find the servers of the nexthop,
// talk SMTP to the first that answers (or reuse a cached connection), and
// decide every recipient: 2xx delivered, 4xx deferred, 5xx bounced.
//
//   connect -> greeting -> EHLO (HELO) -> [STARTTLS -> handshake -> EHLO]
//     -> MAIL, RCPT..., DATA (one batch with PIPELINING) -> message -> "."
//     -> next batch of recipients, or cache the connection / QUIT
//
// Before MAIL, any failure moves on to the next server address; after it,
// a failure defers the recipients not yet decided.
#include "mail/address.hpp"
#include "mail/delivery_log.hpp"
#include "mail/dsn_params.hpp"
#include "mail/lmtp_nexthop.hpp"
#include "mail/queue_file.hpp"
#include "mail/smtputf8.hpp"
#include "smtp/lmtp_target.hpp"
#include "smtp/smtp_agent.hpp"
#include "smtp/smtp_fallback.hpp"
#include "smtp/smtp_srs.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <optional>
#include <set>

namespace kurir::smtp {

namespace {

enum class Stage { connect, greeting, ehlo, helo, starttls, tls, auth, mail, rcpt, data, body, rset, quit };

const char* while_text(Stage s) {
    switch (s) {
        case Stage::connect: return "while connecting";
        case Stage::greeting: return "while receiving the initial server greeting";
        case Stage::ehlo: return "while performing the EHLO handshake";
        case Stage::helo: return "while performing the HELO handshake";
        case Stage::starttls: return "while sending STARTTLS";
        case Stage::tls: return "while performing the TLS handshake";
        case Stage::auth: return "while performing SASL authentication";
        case Stage::mail: return "while sending MAIL FROM";
        case Stage::rcpt: return "while sending RCPT TO";
        case Stage::data: return "while sending DATA command";
        case Stage::body: return "while sending message body";
        case Stage::rset: return "while sending RSET";
        case Stage::quit: return "while sending QUIT";
    }
    return "";
}

const char* reply_to_text(Stage s) {
    switch (s) {
        case Stage::greeting: return "initial greeting";
        case Stage::ehlo: return "EHLO command";
        case Stage::helo: return "HELO command";
        case Stage::starttls: return "STARTTLS command";
        case Stage::auth: return "AUTH command";
        case Stage::mail: return "MAIL FROM command";
        case Stage::rcpt: return "RCPT TO command";
        case Stage::data: return "DATA command";
        case Stage::body: return "end of DATA command";
        default: return "command";
    }
}

const char* timeout_param(Stage s) {
    switch (s) {
        case Stage::connect: return "smtp_connect_timeout";
        case Stage::greeting:
        case Stage::ehlo:
        case Stage::helo:
        case Stage::auth: return "smtp_helo_timeout";
        case Stage::starttls:
        case Stage::tls: return "smtp_starttls_timeout";
        case Stage::mail: return "smtp_mail_timeout";
        case Stage::rcpt: return "smtp_rcpt_timeout";
        case Stage::data: return "smtp_data_init_timeout";
        case Stage::body: return "smtp_data_done_timeout";
        case Stage::rset: return "smtp_rset_timeout";
        case Stage::quit: return "smtp_quit_timeout";
    }
    return "smtp_helo_timeout";
}

// The message as it goes on the wire: CRLF lines, leading dots doubled,
// ended by ".". eight_bit: some byte above 0x7f (BODY=8BITMIME).
// smtputf8: the sender asked for SMTPUTF8; needs_smtputf8: the envelope or
// the headers have UTF-8 in them (mail/smtputf8.hpp decides from both).
struct WireMessage {
    std::string bytes;
    bool eight_bit = false;
    bool smtputf8 = false;
    bool needs_smtputf8 = false;
    long size = 0;
    double arrival = 0;
    std::string dsn_ret, dsn_envid;
    std::map<size_t, std::pair<int, std::string>> dsn_rcpt;  // offset -> NOTIFY bits, ORCPT
    std::set<size_t> forwarded;     // offsets of recipients forwarded to another domain (smtp_srs.hpp)
    std::string forwarded_sender;  // their MAIL FROM: the sender's SRS address, or the sender
};

util::Result<WireMessage> load_message(const server::ServerContext& ctx, const std::string& id) {
    if (!mail::valid_queue_id(id)) return util::fail("bad queue id in request");
    auto file = util::read_regular(ctx.queue.path(mail::Queue::active, id));
    if (!file) return util::fail(file.error().text);
    auto env = mail::parse_queue_file(*file);
    if (!env) return util::fail(env.error().text);
    WireMessage out;
    out.bytes.reserve(file->size() + file->size() / 32 + 8);
    bool in_headers = true;
    auto lines = mail::for_each_content_line(*file, *env, [&](std::string_view line) {
        if (line.empty()) in_headers = false;
        if (in_headers && !mail::all_ascii(line)) out.needs_smtputf8 = true;
        if (line.starts_with('.')) out.bytes += '.';
        out.bytes.append(line);
        out.bytes += "\r\n";
        for (char c : line)
            if (static_cast<unsigned char>(c) > 0x7f) out.eight_bit = true;
    });
    if (!lines) return util::fail(lines.error().text);
    out.size = env->content_size;
    out.dsn_ret = env->attr("dsn_ret");
    out.dsn_envid = env->attr("dsn_envid");
    for (const auto& r : env->recipients)
        if (forwarded_recipient(ctx.config, *env, r)) out.forwarded.insert(r.offset);
    out.smtputf8 = env->attr(mail::kSmtputf8Attr) == "yes";
    std::vector<std::string> rcpts;
    for (const auto& r : env->recipients) rcpts.push_back(r.address);
    out.needs_smtputf8 = out.needs_smtputf8 || mail::needs_smtputf8(env->sender, rcpts, {});
    for (const auto& r : env->recipients)
        if (r.notify != 0 || !r.orcpt.empty()) out.dsn_rcpt[r.offset] = {r.notify, r.orcpt};
    out.arrival = static_cast<double>(env->arrival_sec) + static_cast<double>(env->arrival_usec) / 1e6;
    out.bytes += ".\r\n";
    return out;
}

class Delivery {
public:
    Delivery(Agent& agent, Request req, DeliveryDone done)
        : agent_(agent), cfg_(agent.ctx.config), req_(std::move(req)), done_(std::move(done)) {}

    void start() {
        auto message = load_message(agent_.ctx, req_.queue_id);
        if (!message) return fail_all("4.3.0", message.error().text, false);
        message_ = std::move(*message);
        message_.forwarded_sender = req_.sender;
        if (std::any_of(req_.recipients.begin(), req_.recipients.end(),
                        [&](const Recipient& rc) { return message_.forwarded.count(rc.offset) > 0; })) {
            auto srs = forwarded_sender(cfg_, req_.sender, std::time(nullptr));
            if (!srs) {
                util::msg_warn("{}: {}", req_.queue_id, srs.error().text);
                return fail_all("4.3.0", srs.error().text, false);
            }
            message_.forwarded_sender = std::move(*srs);
        }
        if (agent_.lmtp()) return start_lmtp();
        auto nexthop = mail::parse_nexthop(req_.nexthop);
        if (!nexthop) return fail_all("4.3.5", "bad nexthop: " + nexthop.error().text, false);
        nexthop_ = *nexthop;
        site_ = req_.nexthop;
        fallbacks_ = fallback_relays(cfg_, req_.nexthop);
        cache_key_ = req_.nexthop;
        // A connection logged in for one sender is not another's.
        if (agent_.sasl && agent_.sasl->sender_dependent()) cache_key_ += " " + req_.sender;
        if (auto conn = agent_.take_cached(cache_key_)) return reuse(std::move(conn));
        lookup();
    }

private:
    // LMTP (RFC 2033): a Unix-domain socket is the one target; a TCP
    // destination is looked up without MX (mail/lmtp_nexthop.hpp).
    void start_lmtp() {
        auto nexthop = mail::parse_lmtp_nexthop(req_.nexthop);
        if (!nexthop) return fail_all("4.3.5", "bad nexthop: " + nexthop.error().text, false);
        lmtp_ = *nexthop;
        nexthop_ = lmtp_.inet;
        cache_key_ = req_.nexthop;
        if (auto conn = agent_.take_cached(cache_key_)) return reuse(std::move(conn));
        if (!lmtp_.unix_socket) return lookup();
        auto target = unix_target(mail::lmtp_socket_path(lmtp_, agent_.ctx.queue.root()), cfg_.str("myhostname"));
        if (!target) return fail_all("4.3.5", "bad nexthop: " + req_.nexthop + ": socket path too long", false);
        targets_.push_back(std::move(*target));
        connect_next();
    }

    // ---- finding servers -------------------------------------------------
    void lookup() {
        agent_.resolver->find_targets(
            nexthop_, static_cast<size_t>(cfg_.integer(agent_.param("smtp_mx_address_limit"))),
            [this](TargetList list) {
                if (list.targets.empty()) {
                    last_error_ = list.error;
                    last_error_dsn_ = list.dsn;
                    if (next_fallback()) return;
                    bool dead = list.dsn.starts_with("4");
                    return fail_all(list.dsn, list.error, dead);
                }
                targets_ = std::move(list.targets);
                connect_next();
            },
            agent_.protocols);
    }

    void connect_next() {
        conn_.reset();
        pending_.clear();
        if (!retry_plaintext_ && next_target_ >= targets_.size()) {
            if (next_fallback()) return;
            std::string dsn = last_error_dsn_.empty() ? "4.4.1" : last_error_dsn_;
            return fail_all(dsn, last_error_, dsn.starts_with("4"));
        }
        // A plaintext retry after a failed opportunistic handshake goes to
        // the same address again; anything else moves on to the next.
        const Target& t = retry_plaintext_ ? targets_[next_target_ - 1] : targets_[next_target_++];
        bool unix_socket = t.addr.ss_family == AF_UNIX;
        use_tls_ = agent_.tls->level() != TlsLevel::none && !retry_plaintext_ && !unix_socket;
        retry_plaintext_ = false;
        conn_ = std::make_unique<Connection>();
        conn_->host = t.host;
        conn_->address = unix_socket ? lmtp_.path : t.address_text();
        conn_->unix_socket = unix_socket;
        conn_->port = nexthop_.port;
        conn_->cache_key = cache_key_;
        if (agent_.open_connection) {
            conn_->bev = agent_.open_connection(t);
            if (conn_->bev == nullptr)
                return site_failure("4.4.1", fmt::format("connect to {}: {}", conn_->relay(), std::strerror(ECONNREFUSED)));
        } else {
            auto fd = source_bound_socket(t);
            if (!fd) return site_failure("4.4.1", fmt::format("connect to {}: {}", conn_->relay(), fd.error().text));
            conn_->bev = bufferevent_socket_new(agent_.ctx.base, fd->release(), BEV_OPT_CLOSE_ON_FREE);
        }
        watch();
        stage_ = Stage::connect;
        set_timeout(Stage::connect, true);
        bufferevent_enable(conn_->bev, EV_READ | EV_WRITE);
        if (agent_.open_connection) return connected();
        if (bufferevent_socket_connect(conn_->bev, reinterpret_cast<const sockaddr*>(&t.addr),
                                       static_cast<int>(t.addr_len)) < 0)
            return site_failure("4.4.1", fmt::format("connect to {}: {}", conn_->relay(), std::strerror(errno)));
    }

    // Every server of the destination failed: on to the next
    // smtp_fallback_relay (smtp/smtp_fallback.hpp), if one is left.
    bool next_fallback() {
        while (!fallbacks_.empty()) {
            std::string dest = std::move(fallbacks_.front());
            fallbacks_.erase(fallbacks_.begin());
            auto nexthop = mail::parse_nexthop(dest);
            if (!nexthop) {
                util::msg_warn("smtp_fallback_relay: {}: {}", dest, nexthop.error().text);
                continue;
            }
            site_ = dest;
            nexthop_ = *nexthop;
            targets_.clear();
            next_target_ = 0;
            lookup();
            return true;
        }
        return false;
    }

    // A socket for t's family, bound to the source address configured for
    // it (smtp_bind_address, smtp_bind_address6). A bind that fails is
    // logged and the connection goes out from whatever address the kernel
    // picks, as Postfix's smtp_connect_addr does.
    util::Result<util::Fd> source_bound_socket(const Target& t) {
        int family = t.addr.ss_family;
        util::Fd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd) return util::fail_errno("socket");
        if (family == AF_UNIX) return fd;
        const sockaddr_storage& src = family == AF_INET6 ? agent_.bind6 : agent_.bind4;
        socklen_t len = family == AF_INET6 ? agent_.bind6_len : agent_.bind4_len;
        if (len > 0 && ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&src), len) < 0) {
            Target shown;
            shown.addr = src;
            util::msg_warn("{}: bind {}: {}", family == AF_INET6 ? "smtp_bind_address6" : "smtp_bind_address",
                           shown.address_text(), std::strerror(errno));
        }
        return fd;
    }

    void reuse(std::unique_ptr<Connection> conn) {
        conn_ = std::move(conn);
        reused_ = true;
        watch();
        bufferevent_enable(conn_->bev, EV_READ | EV_WRITE);
        begin_transaction();
    }

    // ---- the conversation -------------------------------------------------
    using Handler = void (Delivery::*)(const mail::SmtpReply&);
    struct Pending {
        Stage stage;
        Handler handler;
    };

    void send(std::string_view line) { bufferevent_write(conn_->bev, line.data(), line.size()); }

    void expect(Stage stage, Handler h) {
        if (pending_.empty()) set_timeout(stage, false);
        pending_.push_back({stage, h});
    }

    // reading=false: only the write timeout runs (a body on its way out).
    // A time of 0 (lmtp_connect_timeout's default) is no limit.
    void set_timeout(Stage stage, bool connecting, bool reading = true) {
        struct timeval tv {cfg_.seconds(agent_.param(timeout_param(stage))), 0};
        std::string write_param = connecting ? "smtp_connect_timeout" : "smtp_data_xfer_timeout";
        struct timeval wtv {cfg_.seconds(agent_.param(write_param)), 0};
        bufferevent_set_timeouts(conn_->bev, reading && tv.tv_sec > 0 ? &tv : nullptr,
                                 wtv.tv_sec > 0 ? &wtv : nullptr);
    }

    void watch() { bufferevent_setcb(conn_->bev, on_read, nullptr, on_event, this); }

    static void on_read(bufferevent* bev, void* arg) {
        auto* self = static_cast<Delivery*>(arg);
        evbuffer* in = bufferevent_get_input(bev);
        while (!self->finished_ && self->conn_ && self->conn_->bev == bev) {
            size_t len = evbuffer_get_length(in);
            if (len == 0) return;
            std::string_view buf(reinterpret_cast<char*>(evbuffer_pullup(in, -1)), len);
            size_t used = 0;
            auto reply = mail::parse_smtp_reply(buf, used);
            if (!reply) return self->protocol_error(reply.error().text);
            if (!*reply) return;
            evbuffer_drain(in, used);
            if (self->pending_.empty()) return self->protocol_error("unexpected reply");
            Pending p = self->pending_.front();
            self->pending_.pop_front();
            self->stage_ = p.stage;
            if (!self->pending_.empty()) self->set_timeout(self->pending_.front().stage, false);
            self->got_reply_ = true;
            (self->*p.handler)(**reply);
        }
    }

    static void on_event(bufferevent*, short what, void* arg) {
        auto* self = static_cast<Delivery*>(arg);
        if (what & BEV_EVENT_CONNECTED) {
            if (self->stage_ == Stage::tls) return self->on_tls_ready();
            return self->connected();
        }
        Stage stage = self->current_stage();
        if (self->stage_ == Stage::connect) {
            int err = (what & BEV_EVENT_TIMEOUT) ? ETIMEDOUT : EVUTIL_SOCKET_ERROR();
            return self->site_failure("4.4.1", fmt::format("connect to {}: {}", self->conn_->relay(),
                                                           std::strerror(err ? err : ECONNREFUSED)));
        }
        if (self->stage_ == Stage::tls && !(what & BEV_EVENT_TIMEOUT)) {
            unsigned long e = bufferevent_get_openssl_error(self->conn_->bev);
            char buf[256] = "handshake failed";
            if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
            return self->tls_failure(fmt::format("TLS handshake with {} failed: {}", self->conn_->relay(), buf));
        }
        std::string what_text = (what & BEV_EVENT_TIMEOUT) ? "conversation with " + self->conn_->peer() + " timed out"
                                                           : "lost connection with " + self->conn_->peer();
        self->connection_lost(fmt::format("{} {}", what_text, while_text(stage)));
    }

    void connected() {
        stage_ = Stage::greeting;
        expect(Stage::greeting, &Delivery::on_greeting);
    }

    void on_greeting(const mail::SmtpReply& r) {
        if (r.klass() != 2)
            return site_failure(r.enhanced,
                                fmt::format("host {} refused to talk to me: {}", conn_->peer(), r.text()), r);
        send_ehlo();
    }

    void send_ehlo() {
        send(fmt::format("{} {}\r\n", agent_.lmtp() ? "LHLO" : "EHLO", agent_.helo_name));
        expect(Stage::ehlo, &Delivery::on_ehlo);
    }

    void on_ehlo(const mail::SmtpReply& r) {
        if (r.klass() != 2) {
            // LMTP has no HELO to fall back to.
            if (conn_->tls || agent_.lmtp()) return site_failure(r.enhanced, said(r, Stage::ehlo), r);
            send(fmt::format("HELO {}\r\n", agent_.helo_name));
            return expect(Stage::helo, &Delivery::on_helo);
        }
        conn_->esmtp = true;
        conn_->features = mail::parse_ehlo_features(r);
        if (!conn_->tls && use_tls_ && conn_->features.starttls) {
            send("STARTTLS\r\n");
            return expect(Stage::starttls, &Delivery::on_starttls);
        }
        if (!conn_->tls && agent_.tls->required())
            return site_failure("4.7.4", fmt::format("TLS is required, but was not offered by host {}", conn_->peer()));
        after_ehlo();
    }

    void on_helo(const mail::SmtpReply& r) {
        if (r.klass() != 2) return site_failure(r.enhanced, said(r, Stage::helo), r);
        conn_->features = {};
        if (agent_.tls->required())
            return site_failure("4.7.4", fmt::format("TLS is required, but was not offered by host {}", conn_->peer()));
        begin_transaction();
    }

    void on_starttls(const mail::SmtpReply& r) {
        if (r.klass() != 2) {
            if (agent_.tls->required()) return site_failure("4.7.4", said(r, Stage::starttls), r);
            return after_ehlo();  // opportunistic: carry on in plaintext
        }
        SSL* ssl = agent_.tls->new_ssl(conn_->host, agent_.tls->level() == TlsLevel::secure ? nexthop_.host : conn_->host);
        if (ssl == nullptr) return site_failure("4.7.5", "cannot create TLS session");
        bufferevent* plain = conn_->bev;
        conn_->bev = bufferevent_openssl_filter_new(agent_.ctx.base, plain, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                   BEV_OPT_CLOSE_ON_FREE);
        if (conn_->bev == nullptr) {
            conn_->bev = plain;
            return site_failure("4.7.5", "cannot start TLS");
        }
        bufferevent_openssl_set_allow_dirty_shutdown(conn_->bev, 1);
        // The filter's own timeouts rule from now on; the plain one's would
        // still fire through it.
        bufferevent_set_timeouts(plain, nullptr, nullptr);
        stage_ = Stage::tls;
        watch();
        set_timeout(Stage::tls, false);
        bufferevent_enable(conn_->bev, EV_READ | EV_WRITE);
    }

    void on_tls_ready() {
        SSL* ssl = bufferevent_openssl_get_ssl(conn_->bev);
        std::string problem = agent_.tls->check_peer(ssl);
        if (!problem.empty()) {
            return site_failure("4.7.5", fmt::format("server certificate verification failed for {}: {}",
                                                     conn_->peer(), problem));
        }
        conn_->tls = true;
        stage_ = Stage::ehlo;
        util::msg_info("{} TLS connection established to {}: {}", TlsPolicy::trust(ssl), conn_->relay(),
                       TlsPolicy::describe(ssl));
        send_ehlo();
    }

    void tls_failure(const std::string& reason) {
        if (agent_.tls->level() == TlsLevel::may) {
            // Opportunistic TLS that fails is retried once without it, as Postfix does.
            util::msg_info("{}: {}; trying again without TLS", req_.queue_id, reason);
            retry_plaintext_ = true;
            return connect_next();
        }
        site_failure("4.7.5", reason);
    }

    // ---- SASL login (smtp/smtp_sasl.hpp) ---------------------------------------
    void after_ehlo() {
        if (!agent_.sasl) return begin_transaction();
        bool verified = conn_->tls && TlsPolicy::trust(bufferevent_openssl_get_ssl(conn_->bev)) == "Verified";
        auto plan = agent_.sasl->plan(*conn_, verified, req_.sender, site_);
        if (!plan.dsn.empty()) return site_failure(plan.dsn, plan.reason);
        if (!plan.exchange) return begin_transaction();
        sasl_ = std::move(plan.exchange);
        send(sasl_->command() + "\r\n");
        expect(Stage::auth, &Delivery::on_auth);
    }

    void on_auth(const mail::SmtpReply& r) {
        if (r.code == 334) {
            auto line = sasl_->respond(r.lines.empty() ? "" : r.lines.front());
            if (!line)
                return site_failure("4.7.0", fmt::format("SASL authentication failed; cannot authenticate to server {}: {}",
                                                         conn_->peer(), line.error().text));
            send(*line + "\r\n");
            return expect(Stage::auth, &Delivery::on_auth);
        }
        if (r.klass() == 2) return begin_transaction();
        auto [dsn, reason] = agent_.sasl->failed(r, conn_->peer());
        site_failure(dsn, reason, r);
    }

    // ---- one mail transaction ------------------------------------------------
    void begin_transaction() {
        stage_ = Stage::mail;
        batch_.clear();
        accepted_.clear();
        transaction_failed_ = false;
        size_t limit = static_cast<size_t>(cfg_.integer(agent_.param("smtp_destination_recipient_limit")));
        // Forwarded recipients with an SRS sender go in transactions of their own.
        bool split = message_.forwarded_sender != req_.sender;
        auto forwarded = [&](size_t i) { return split && message_.forwarded.count(req_.recipients[i].offset) > 0; };
        std::optional<bool> kind;
        for (size_t i = 0; i < req_.recipients.size() && batch_.size() < limit; ++i) {
            if (req_.recipients[i].decided) continue;
            if (!kind) kind = forwarded(i);
            if (forwarded(i) == *kind) batch_.push_back(i);
        }
        if (batch_.empty()) return finish_connection();
        const std::string& mail_from = kind.value_or(false) ? message_.forwarded_sender : req_.sender;
        if (connected_at_ == 0) connected_at_ = mail::now_seconds();
        auto utf8 = mail::smtputf8_decision(message_.smtputf8, conn_->features.smtputf8, message_.needs_smtputf8);
        if (utf8 == mail::Smtputf8Send::bounce) {
            // As Postfix: the message cannot go to this server, nor be
            // downgraded; its recipients bounce, the connection stays usable.
            std::string text = fmt::format("SMTPUTF8 is required, but was not offered by host {}", conn_->peer());
            for (size_t i : batch_) decide(i, "5.6.7", text, {});
            return end_transaction(false);
        }
        pipelined_ = conn_->features.pipelining;
        std::string mail = fmt::format("MAIL FROM:<{}>", mail::quote_address(mail_from));
        if (conn_->features.has_size) mail += fmt::format(" SIZE={}", message_.size);
        if (message_.eight_bit && conn_->features.eightbitmime) mail += " BODY=8BITMIME";
        if (utf8 == mail::Smtputf8Send::smtputf8) mail += " SMTPUTF8";
        if (conn_->features.dsn && !message_.dsn_ret.empty()) mail += " RET=" + message_.dsn_ret;
        if (conn_->features.dsn && !message_.dsn_envid.empty()) mail += " ENVID=" + mail::encode_xtext(message_.dsn_envid);
        send(mail + "\r\n");
        expect(Stage::mail, &Delivery::on_mail);
        if (pipelined_) {
            for (size_t i = 0; i < batch_.size(); ++i) send_rcpt(i);
            send("DATA\r\n");
            expect(Stage::data, &Delivery::on_data);
        }
    }

    void send_rcpt(size_t i) {
        const Recipient& rc = req_.recipients[batch_[i]];
        std::string params;
        auto dsn = message_.dsn_rcpt.find(rc.offset);
        if (conn_->features.dsn && dsn != message_.dsn_rcpt.end()) {
            if (dsn->second.first != 0) params += " NOTIFY=" + mail::format_notify(dsn->second.first);
            if (!dsn->second.second.empty()) params += " ORCPT=" + mail::format_orcpt(dsn->second.second);
        }
        send(fmt::format("RCPT TO:<{}>{}\r\n", mail::quote_address(rc.address), params));
        expect(Stage::rcpt, &Delivery::on_rcpt);
    }

    void on_mail(const mail::SmtpReply& r) {
        rcpt_replies_ = 0;
        if (r.klass() != 2) {
            transaction_failed_ = true;
            for (size_t i : batch_) decide(i, r.enhanced, said(r, Stage::mail), r);
            if (!pipelined_) return end_transaction(true);
            return;
        }
        if (!pipelined_) send_rcpt(0);
    }

    void on_rcpt(const mail::SmtpReply& r) {
        size_t n = rcpt_replies_++;
        if (n >= batch_.size()) return protocol_error("more RCPT replies than commands");
        if (!transaction_failed_) {
            if (r.klass() == 2)
                accepted_.push_back(batch_[n]);
            else
                decide(batch_[n], r.enhanced, said(r, Stage::rcpt), r);
        }
        if (pipelined_) return;
        if (transaction_failed_) return end_transaction(true);
        if (n + 1 < batch_.size()) return send_rcpt(n + 1);
        if (accepted_.empty()) return end_transaction(true);
        send("DATA\r\n");
        expect(Stage::data, &Delivery::on_data);
    }

    void on_data(const mail::SmtpReply& r) {
        if (r.klass() == 2 || r.klass() == 3) {
            if (r.code != 354) return protocol_error("DATA answered with " + r.text());
        } else {
            if (!transaction_failed_)
                for (size_t i : accepted_) decide(i, r.enhanced, said(r, Stage::data), r);
            return end_transaction(true);
        }
        if (transaction_failed_ || accepted_.empty()) {
            // A server that says 354 with no valid recipient gets an empty message.
            send(".\r\n");
            return expect(Stage::body, &Delivery::on_abandoned_body);
        }
        // While the body goes out, the write timeout applies; the wait for
        // the final reply (smtp_data_done_timeout) starts once "." is written.
        send(message_.bytes);
        // LMTP answers the end of data once per accepted recipient (RFC 2033 4.2).
        lmtp_replies_ = 0;
        if (agent_.lmtp())
            for (size_t k = 0; k < accepted_.size(); ++k) pending_.push_back({Stage::body, &Delivery::on_lmtp_body});
        else
            pending_.push_back({Stage::body, &Delivery::on_body});
        set_timeout(Stage::body, false, /*reading=*/false);
        bufferevent_setcb(conn_->bev, on_read, on_body_written, on_event, this);
    }

    static void on_body_written(bufferevent* bev, void* arg) {
        auto* self = static_cast<Delivery*>(arg);
        bufferevent_setcb(bev, on_read, nullptr, on_event, self);
        if (!self->pending_.empty() && self->pending_.front().stage == Stage::body) self->set_timeout(Stage::body, false);
    }

    void on_abandoned_body(const mail::SmtpReply&) { end_transaction(true); }

    void on_body(const mail::SmtpReply& r) {
        for (size_t i : accepted_) {
            if (r.klass() == 2) {
                decide(i, "2.0.0", r.text(), r);
                // A server with DSN got the NOTIFY and reports success itself.
                if (conn_->features.dsn && message_.dsn_rcpt.count(req_.recipients[i].offset))
                    req_.recipients[i].action = "none";
            }
            else
                decide(i, r.enhanced, said(r, Stage::body), r);
        }
        ++conn_->uses;
        end_transaction(r.klass() != 2);
    }

    // One LMTP reply after the data: it decides the next accepted
    // recipient alone, in RCPT order.
    void on_lmtp_body(const mail::SmtpReply& r) {
        size_t k = lmtp_replies_++;
        size_t i = accepted_[k];
        if (r.klass() == 2) {
            decide(i, r.enhanced.empty() ? "2.0.0" : r.enhanced, r.text(), r);
            if (conn_->features.dsn && message_.dsn_rcpt.count(req_.recipients[i].offset))
                req_.recipients[i].action = "none";
        } else {
            lmtp_failed_ = true;
            decide(i, r.enhanced, said(r, Stage::body), r);
        }
        if (lmtp_replies_ < accepted_.size()) return;
        ++conn_->uses;
        bool failed = lmtp_failed_;
        lmtp_failed_ = false;
        end_transaction(failed);
    }

    void end_transaction(bool needs_reset) {
        if (!pending_.empty()) return;  // pipelined replies still coming
        // Every command answered: anything more the server sent is out of
        // step with us, and would be taken for the next command's reply.
        if (evbuffer_get_length(bufferevent_get_input(conn_->bev)) > 0)
            return protocol_error("more replies than commands");
        bool more = false;
        for (const auto& rc : req_.recipients) more = more || !rc.decided;
        if (!more) return finish_connection(needs_reset);
        if (needs_reset) {
            send("RSET\r\n");
            return expect(Stage::rset, &Delivery::on_rset);
        }
        begin_transaction();
    }

    void on_rset(const mail::SmtpReply& r) {
        if (r.klass() != 2) return connection_lost(said(r, Stage::rset));
        begin_transaction();
    }

    // ---- endings ----------------------------------------------------------
    // Every recipient decided: keep the connection for the next delivery to
    // this nexthop, or say goodbye.
    void finish_connection(bool needs_reset = false) {
        if (!needs_reset && conn_->uses > 0 && cfg_.seconds(agent_.param("smtp_connection_cache_time_limit")) > 0) {
            bufferevent_setcb(conn_->bev, nullptr, nullptr, nullptr, nullptr);
            agent_.give_back(std::move(conn_));
        } else {
            send("QUIT\r\n");
            // Not waited for: the results do not depend on it. The bufferevent
            // is freed once the QUIT is written.
            bufferevent* bev = conn_->bev;
            conn_->bev = nullptr;
            bufferevent_setcb(bev, nullptr, close_when_written, close_on_event, nullptr);
            bufferevent_enable(bev, EV_WRITE);
            if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) bufferevent_free(bev);
            conn_.reset();
        }
        complete(false);
    }

    static void close_when_written(bufferevent* bev, void*) { bufferevent_free(bev); }
    static void close_on_event(bufferevent* bev, short, void*) { bufferevent_free(bev); }

    // No usable conversation with this server: try the next one.
    void site_failure(const std::string& dsn, const std::string& reason, const mail::SmtpReply& r = {}) {
        util::msg_info("{}: {}", req_.queue_id, reason);
        last_error_ = reason;
        last_error_dsn_ = dsn;
        last_diagnostic_ = r.code ? r.text() : "";
        last_mta_ = conn_ ? conn_->host : "";
        connect_next();
    }

    void connection_lost(const std::string& reason) {
        if (reused_ && !got_reply_) {
            // The cached connection had gone stale: start over with a new one.
            util::msg_info("{}: cached connection to {} gone; reconnecting", req_.queue_id, conn_->relay());
            reused_ = false;
            conn_.reset();
            pending_.clear();
            return lookup();
        }
        if (current_stage() < Stage::mail) return site_failure("4.4.2", reason);
        std::string mta = conn_ ? conn_->host : "";
        conn_.reset();
        pending_.clear();
        for (size_t i = 0; i < req_.recipients.size(); ++i)
            if (!req_.recipients[i].decided) decide(i, "4.4.2", reason, {}, mta);
        complete(false);
    }

    void protocol_error(const std::string& what) {
        std::string reason = fmt::format("bad reply from {}: {} {}", conn_->peer(), what, while_text(current_stage()));
        util::msg_warn("{}: {}", req_.queue_id, reason);
        connection_lost(reason);
    }

    void fail_all(const std::string& dsn, const std::string& reason, bool site_dead) {
        for (size_t i = 0; i < req_.recipients.size(); ++i)
            if (!req_.recipients[i].decided) decide(i, dsn, reason, {}, last_mta_, last_diagnostic_);
        complete(site_dead);
    }

    std::string said(const mail::SmtpReply& r, Stage s) const {
        const char* to = agent_.lmtp() && s == Stage::ehlo ? "LHLO command" : reply_to_text(s);
        return fmt::format("host {} said: {} (in reply to {})", conn_->peer(), r.text(), to);
    }

    void decide(size_t i, const std::string& dsn, const std::string& text, const mail::SmtpReply& r,
                const std::string& mta = "", const std::string& diagnostic = "") {
        Recipient& rc = req_.recipients[i];
        rc.decided = true;
        rc.dsn = dsn;
        rc.text = text;
        rc.diagnostic = r.code ? r.text() : diagnostic;
        rc.remote_mta = conn_ ? conn_->host : mta;
        mail::DeliveryTimes t{message_.arrival, req_.active_time, req_.handed_time,
                              connected_at_ ? connected_at_ : mail::now_seconds(), mail::now_seconds()};
        std::string relay = conn_ ? conn_->relay() : "none";
        std::string line = mail::delivery_log_line(req_.queue_id, rc.address, "", relay, t, dsn, text);
        if (conn_ && conn_->uses > 0 && reused_) line.insert(line.find(", delay="), fmt::format(", conn_use={}", conn_->uses + 1));
        util::msg_info("{}", line);
    }

    // Answers qmgr; the object goes once the callback that called this has
    // returned (libevent may still be inside one of ours).
    void complete(bool site_dead) {
        if (finished_) return;
        finished_ = true;
        conn_.reset();
        done_(req_, site_dead);
        struct timeval now {0, 0};
        event_base_once(agent_.ctx.base, -1, EV_TIMEOUT, [](evutil_socket_t, short, void* arg) {
            delete static_cast<Delivery*>(arg);
        }, this, &now);
    }

    Stage current_stage() const { return pending_.empty() ? stage_ : pending_.front().stage; }

    Agent& agent_;
    const mail::Config& cfg_;
    Request req_;
    DeliveryDone done_;
    WireMessage message_;
    mail::Nexthop nexthop_;
    mail::LmtpNexthop lmtp_;  // as lmtp
    size_t lmtp_replies_ = 0;
    bool lmtp_failed_ = false;
    std::string cache_key_;
    std::string site_;                    // the destination tried now: the nexthop, then each fallback relay
    std::vector<std::string> fallbacks_;  // smtp_fallback_relay destinations not tried yet
    std::vector<Target> targets_;
    size_t next_target_ = 0;
    bool use_tls_ = false;
    std::optional<mail::SaslClientExchange> sasl_;
    bool retry_plaintext_ = false;
    bool reused_ = false;
    bool got_reply_ = false;
    std::unique_ptr<Connection> conn_;
    std::deque<Pending> pending_;
    Stage stage_ = Stage::connect;
    std::vector<size_t> batch_;      // recipient indexes in this transaction
    std::vector<size_t> accepted_;   // of those, the ones RCPT accepted
    size_t rcpt_replies_ = 0;
    bool pipelined_ = false;
    bool transaction_failed_ = false;
    double connected_at_ = 0;
    bool finished_ = false;
    std::string last_error_ = "no server could be reached";
    std::string last_error_dsn_;
    std::string last_diagnostic_;
    std::string last_mta_;
};

}  // namespace

void Agent::deliver(Request request, DeliveryDone done) {
    auto* d = new Delivery(*this, std::move(request), std::move(done));
    d->start();
}

}  // namespace kurir::smtp
