// smtpd's DKIM verification (smtpd_dkim.hpp): the session's side, from
// the start of a message to the Authentication-Results record at its end.
#include "smtpd/smtpd_dkim.hpp"

#include "mail/auth_results.hpp"
#include "mail/content_line.hpp"
#include "mail/record.hpp"
#include "server/dns_channel.hpp"
#include "smtpd/smtpd_session.hpp"
#include "util/cidr.hpp"
#include "util/log.hpp"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fmt/format.h>

#include <ctime>

namespace kurir::smtpd {

namespace {

mail::DkimKeyLookup key_lookup(const mail::DnsAnswer& answer) {
    mail::DkimKeyLookup key;
    switch (answer.status) {
        case mail::DnsAnswer::Status::found:
            if (!answer.records.empty()) {
                key.status = mail::DkimKeyLookup::Status::found;
                key.txt = answer.records.front();
            }
            break;
        case mail::DnsAnswer::Status::not_found:
        case mail::DnsAnswer::Status::no_data: break;
        case mail::DnsAnswer::Status::failed: key.status = mail::DkimKeyLookup::Status::temporary; break;
    }
    return key;
}

mail::AuthResult auth_result(const mail::DkimVerdict& v) {
    mail::AuthResult r{"dkim", std::string(mail::to_string(v.result)), v.reason, {}};
    if (v.domain.empty()) return r;  // a signature that could not be read
    r.properties.emplace_back("header.d", v.domain);
    if (!v.identity.empty() && v.identity != "@" + v.domain)  // i=, when it says more than d=
        r.properties.emplace_back("header.i", v.identity);
    r.properties.emplace_back("header.s", v.selector);
    r.properties.emplace_back("header.a", v.algorithm);
    if (!v.b_prefix.empty()) r.properties.emplace_back("header.b", v.b_prefix);
    return r;
}

}  // namespace

util::Result<DkimVerifyPolicy> load_dkim_verify_policy(const mail::Config& cfg) {
    DkimVerifyPolicy p;
    p.enable = cfg.boolean("smtpd_dkim_verify");
    p.authserv_id = cfg.str("dkim_authserv_id");
    if (p.enable && p.authserv_id.empty())  // the header would claim no one
        return util::fail("dkim_authserv_id: empty, and smtpd_dkim_verify = yes needs it");
    p.max_signatures = static_cast<size_t>(cfg.integer("dkim_verify_max_signatures"));
    p.timeout = cfg.seconds("dkim_verify_timeout");
    p.header_limit = static_cast<size_t>(cfg.integer("header_size_limit"));
    p.strip = mail::parse_strip_characters(cfg.str("message_strip_characters"));
    p.mask_cr_lf = cfg.boolean("cleanup_replace_stray_cr_lf");
    return p;
}

DkimLookups::~DkimLookups() {
    if (timer) event_free(timer);
}

// Mail from mynetworks and from authenticated clients is what kurir signs:
// it is not verified, and its Authentication-Results fields stay.
void Session::start_dkim() {
    dkim_.reset();
    dkim_lookups_.reset();
    const DkimVerifyPolicy& p = policy_.dkim;
    if (!p.enable || !sasl_username_.empty() || util::cidr_match_any(policy_.mynetworks, peer_.addr)) return;
    dkim_ = std::make_unique<DkimContent>(p.authserv_id, p.header_limit, p.max_signatures, p.strip, p.mask_cr_lf);
}

void Session::forward_content(char type, std::string_view text) {
    if (!dkim_) return send_record(type, text);
    dkim_->record(type, text, [this](char t, std::string_view d) { send_record(t, d); });
}

// The end-of-data step: the keys are looked up, the field goes to cleanup,
// then `then` runs (at once when the message is not verified).
void Session::verify_dkim(std::function<void()> then) {
    if (!dkim_) return then();
    dkim_->finish([this](char t, std::string_view d) { send_record(t, d); });
    auto lookups = std::make_shared<DkimLookups>();
    dkim_lookups_ = lookups;
    lookups->then = std::move(then);
    const mail::DkimVerifier& verifier = dkim_->verifier();
    lookups->keys.resize(verifier.signatures());
    server::DnsChannel* channel = nullptr;
    if (dkim_->unverifiable().empty() && verifier.signatures() > 0) channel = dns_channel().value_or(nullptr);
    lookups->asking = true;
    for (size_t i = 0; i < verifier.signatures() && dkim_->unverifiable().empty(); ++i) {
        std::string name = verifier.key_name(i);
        if (name.empty() || !channel) {  // nothing to ask, or no way to ask it
            lookups->keys[i] = mail::DkimKeyLookup{channel ? mail::DkimKeyLookup::Status::not_found
                                                           : mail::DkimKeyLookup::Status::temporary, ""};
            continue;
        }
        ++lookups->pending;
        channel->query(name, mail::DnsType::txt,
                       [this, i, alive = alive_, weak = std::weak_ptr(lookups)](mail::DnsAnswer answer) {
                           auto l = weak.lock();
                           if (!*alive || !l || l->keys[i]) return;
                           l->keys[i] = key_lookup(answer);
                           --l->pending;
                           if (l->pending == 0 && !l->asking) finish_dkim();
                       });
    }
    lookups->asking = false;
    if (lookups->pending == 0) return finish_dkim();
    lookups->timer = event_new(ctx_.base, -1, 0, on_dkim_timeout, this);
    timeval tv{policy_.dkim.timeout, 0};
    event_add(lookups->timer, &tv);
}

void Session::on_dkim_timeout(int, short, void* arg) { static_cast<Session*>(arg)->finish_dkim(); }

// Every answer is in, or the time is up (what did not come is temperror).
void Session::finish_dkim() {
    std::shared_ptr<DkimLookups> lookups = std::exchange(dkim_lookups_, nullptr);
    if (!lookups || !dkim_) return;
    const mail::DkimVerifier& verifier = dkim_->verifier();
    std::vector<mail::AuthResult> results;
    if (verifier.signatures() == 0) {
        results.push_back({"dkim", "none", "", {}});
    } else if (!dkim_->unverifiable().empty()) {
        results.push_back({"dkim", "policy", dkim_->unverifiable() + " is not verified", {}});
    } else {
        std::time_t now = std::time(nullptr);
        for (size_t i = 0; i < verifier.signatures(); ++i) {
            mail::DkimKeyLookup key = lookups->keys[i].value_or(
                mail::DkimKeyLookup{mail::DkimKeyLookup::Status::temporary, ""});
            results.push_back(auth_result(verifier.verify(i, key, now)));
        }
    }
    std::string field = mail::format_auth_results(policy_.dkim.authserv_id, results);
    // The log line: the results as the header has them, on one line; none
    // for an unsigned message (most mail: the log keeps Postfix's lines).
    if (verifier.signatures() > 0) {
        std::string logged = field.substr(field.find("\n\t"));
        for (size_t pos; (pos = logged.find("\n\t")) != std::string::npos;) logged.replace(pos, 2, " ");
        dkim_log_.push_back(logged.substr(1));
    }
    if (dkim_->removed() > 0)
        dkim_log_.push_back(fmt::format("removed {} Authentication-Results header(s) claiming authserv-id {}",
                                        dkim_->removed(), policy_.dkim.authserv_id));
    log_dkim();
    dkim_.reset();
    if (cleanup_) send_record(mail::rec::prepend, field);
    auto then = std::move(lookups->then);
    then();
}

// The log lines wait for the queue id: cleanup's hello may come after the
// end of a short message (then cleanup_said calls this again).
void Session::log_dkim() {
    if (queue_id_.empty()) return;
    for (const auto& line : dkim_log_) util::msg_info("{}: {}", queue_id_, line);
    dkim_log_.clear();
}

}  // namespace kurir::smtpd
