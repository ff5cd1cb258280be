// smtpd's TLS: STARTTLS (RFC 3207) and wrapper mode (smtpd_tls_wrappermode,
// port 465) through a libevent OpenSSL filter over the client's socket
// bufferevent. After STARTTLS nothing the client sent in plaintext behind
// the command is used (CVE-2011-0411) and the session starts over (no HELO,
// no transaction).
#include "server/master_proto.hpp"
#include "server/tls_credentials.hpp"
#include "smtpd/smtpd_session.hpp"
#include "util/log.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kurir::smtpd {

namespace {
// Replies not yet taken by the socket, after encryption: above this the
// filter keeps the rest, where may_read sees it (Session's output bound).
constexpr size_t kTlsSocketHighWater = 64 << 10;
}  // namespace

std::string_view received_protocol(bool esmtp, bool tls, bool authenticated) {
    if (!esmtp) return "SMTP";
    if (tls && authenticated) return "ESMTPSA";
    if (tls) return "ESMTPS";
    if (authenticated) return "ESMTPA";
    return "ESMTP";
}

util::Result<std::shared_ptr<server::TlsServer>> load_tls(const mail::Config& cfg) {
    auto settings = server::load_tls_settings(cfg);
    if (!settings) return std::unexpected(settings.error());
    if (!settings->enabled()) return nullptr;
    std::string origin = settings->chain_files.empty() ? settings->cert_file : settings->chain_files.front();
    auto pem = server::read_sealed(server::kTlsFd);
    if (pem) {
        origin = "TLS credentials from master (" + origin + ")";
        ::close(server::kTlsFd);
    } else {
        pem = server::read_tls_credentials(*settings);
        if (!pem) return util::fail("TLS: " + pem.error().text);
    }
    auto tls = server::TlsServer::create(*settings, *pem, origin);
    if (!tls) return util::fail("TLS: " + tls.error().text);
    // master's keys: a session resumes with any smtpd of the instance.
    if (auto keys = server::ticket_keys_of(*pem))
        if (auto set = (*tls)->set_ticket_keys(*keys); !set) return std::unexpected(set.error());
    return std::shared_ptr<server::TlsServer>(std::move(*tls));
}

std::string_view Session::protocol() const { return received_protocol(esmtp_, tls_active_, !sasl_username_.empty()); }

// Under smtpd_tls_security_level = encrypt, what Postfix refuses before TLS.
bool Session::refuse_before_tls() {
    if (!policy_.tls || tls_active_ || !policy_.tls->settings().mandatory()) return false;
    error_reply("530 5.7.0 Must issue a STARTTLS command first");
    return true;
}

void Session::do_starttls(const mail::SmtpCommand& cmd) {
    if (!policy_.tls) return error_reply("502 5.5.1 Error: command not implemented");
    if (tls_active_) return error_reply("554 5.5.1 Error: TLS already active");
    if (!cmd.arg.empty()) return error_reply("501 5.5.4 Syntax: STARTTLS");
    if (rate_limited(mail::proto::AnvilRequest::Kind::newtls, [this, cmd] { do_starttls(cmd); })) return;
    reply("220 2.0.0 Ready to start TLS");
    // CVE-2011-0411: what came behind the command in plaintext is never
    // read as if it had come over TLS.
    evbuffer* in = bufferevent_get_input(client_);
    if (size_t n = evbuffer_get_length(in); n > 0) {
        util::msg_info("discarding {} bytes of plaintext sent after STARTTLS by {}", n, client_id());
        evbuffer_drain(in, n);
    }
    // The session starts over, as after a new connection.
    reset_transaction();
    helo_.clear();
    esmtp_ = false;
    sasl_username_.clear();  // an AUTH before TLS counts for nothing after it (RFC 3207)
    sasl_method_.clear();
    if (!start_tls()) close_after_reply();  // the 220 goes out, then the session ends
}

// Puts the TLS filter over the socket's bufferevent; what was written to
// the socket before (the 220) goes out first, in plaintext. False when
// OpenSSL cannot (the session must end).
bool Session::start_tls() {
    SSL* ssl = policy_.tls->new_ssl();
    bufferevent* plain = client_;
    bufferevent* filtered = ssl ? bufferevent_openssl_filter_new(ctx_.base, plain, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                                 BEV_OPT_CLOSE_ON_FREE)
                                : nullptr;
    if (filtered == nullptr) {
        util::msg_warn("cannot start TLS for {}: {}", client_id(), server::TlsServer::last_error());
        if (ssl) SSL_free(ssl);
        return false;
    }
    client_ = filtered;
    tls_active_ = true;
    bufferevent_setwatermark(plain, EV_WRITE, 0, kTlsSocketHighWater);
    bufferevent_setcb(client_, on_client_read, on_client_write, on_client_event, this);
    bufferevent_setwatermark(client_, EV_READ, 0, 64 << 10);
    bufferevent_enable(client_, EV_READ | EV_WRITE);
    return true;
}

void Session::tls_handshake_done() {
    tls_established_ = true;
    SSL* ssl = bufferevent_openssl_get_ssl(client_);
    tls_info_ = server::TlsServer::describe(ssl);
    if (policy_.tls->settings().loglevel >= 1)
        util::msg_info("Anonymous TLS connection established from {}: {}", client_id(), tls_info_);
}

// Why a handshake ended, in OpenSSL's words when it has any (libevent
// keeps them per bufferevent), else as Postfix says it.
std::string Session::tls_error(short what) const {
    std::string text;
    while (unsigned long e = bufferevent_get_openssl_error(client_)) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!text.empty()) text += "; ";
        text += buf;
    }
    if (!text.empty()) return text;
    return (what & BEV_EVENT_EOF) ? "lost connection" : "handshake failed";
}

// What is queued for the socket itself (ciphertext under TLS) goes out if
// the socket takes it now; nothing waits for a client that does not read,
// and no plaintext is ever written onto a TLS session.
void Session::flush_raw() {
    bufferevent* sock = tls_active_ ? bufferevent_get_underlying(client_) : client_;
    if (sock == nullptr) return;
    evbuffer* out = bufferevent_get_output(sock);  // only the bufferevent may drain it
    size_t len = evbuffer_get_length(out);
    if (len == 0) return;
    const unsigned char* bytes = evbuffer_pullup(out, -1);
    if (::send(bufferevent_getfd(sock), bytes, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
        util::msg_info("write to {}: {}", client_id(), std::strerror(errno));
}

}  // namespace kurir::smtpd
