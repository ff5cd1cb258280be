// smtpd's one small interface to whoever checks passwords: Dovecot's auth
// server (smtpd_sasl_type = dovecot) or kurir's own argon2id table
// (smtpd_sasl_type = kurir). The session speaks SMTP and base64; a backend
// sees decoded bytes and answers, perhaps later, on the event loop.
#pragma once

#include "mail/config.hpp"
#include "util/result.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct event_base;

namespace kurir::smtpd {

struct SaslOutcome {
    enum class Kind {
        challenge,  // data: bytes for "334 base64(data)"
        success,    // data: the authenticated user name
        failure,    // data: the reason, for 535 and the log
        temporary,  // data: the reason, for 454 (the backend is unreachable)
    } kind;
    std::string data;
};
using SaslDone = std::function<void(SaslOutcome)>;

struct SaslClient {
    std::string local_addr, remote_addr;
    bool tls = false;
};

// One authentication in progress. Destroying it cancels it: its callback is
// never called afterwards.
class SaslExchange {
public:
    virtual ~SaslExchange() = default;
    // The first call carries the initial response (nullopt when none was
    // sent), later calls each client response, decoded. done runs exactly
    // once per call, perhaps from inside step as its last action (so done
    // may destroy the exchange).
    virtual void step(std::optional<std::string> response, SaslDone done) = 0;
};

// One per process; lives as long as the event loop.
class SaslServer {
public:
    virtual ~SaslServer() = default;
    // Once the event loop exists and privileges are dropped; queue_root is
    // the queue directory as this process sees it ("" when chrooted there).
    virtual void bind(event_base* base, const std::string& queue_root) = 0;
    // PLAIN and LOGIN, those the backend offers, in that order.
    virtual std::vector<std::string> mechanisms() const = 0;
    virtual std::unique_ptr<SaslExchange> start(const std::string& mechanism, const SaslClient& client) = 0;
};

// What smtpd_sasl_type names, configured from cfg (which must outlive it);
// opened before smtpd drops privileges (the password table may be root's).
util::Result<std::unique_ptr<SaslServer>> open_sasl_server(const mail::Config& cfg);

}  // namespace kurir::smtpd
