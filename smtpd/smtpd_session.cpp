#include "smtpd/smtpd_session.hpp"

#include "mail/address.hpp"
#include "mail/clients.hpp"
#include "mail/dsn_params.hpp"
#include "mail/record.hpp"
#include "mail/local_domains.hpp"
#include "mail/resolve.hpp"
#include "mail/smtputf8.hpp"
#include "smtpd/smtpd_srs.hpp"
#include "util/attr.hpp"
#include "util/log.hpp"
#include "util/privilege.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace kurir::smtpd {

namespace {
// Bytes read from a client and not yet used: libevent stops reading there.
constexpr size_t kClientInputHighWater = 64 << 10;
}  // namespace

util::Result<SmtpdPolicy> load_policy(const mail::Config& cfg) {
    SmtpdPolicy p;
    for (const auto& net : cfg.list("mynetworks")) {
        auto c = util::parse_cidr(net);
        if (!c) return util::fail("mynetworks: " + c.error().text);
        p.mynetworks.push_back(*c);
    }
    p.hostname = cfg.str("myhostname");
    p.banner = cfg.str("smtpd_banner");
    p.size_limit = cfg.integer("message_size_limit");
    p.recipient_limit = cfg.integer("smtpd_recipient_limit");
    p.soft_error_limit = cfg.integer("smtpd_soft_error_limit");
    p.hard_error_limit = cfg.integer("smtpd_hard_error_limit");
    p.junk_command_limit = cfg.integer("smtpd_junk_command_limit");
    p.error_sleep = cfg.seconds("smtpd_error_sleep_time");
    p.timeout = cfg.seconds("smtpd_timeout");
    p.session_time_limit = cfg.seconds("smtpd_session_time_limit");
    std::string bare = cfg.str("smtpd_forbid_bare_newline");
    if (bare != "normalize" && bare != "reject" && bare != "no" && bare != "yes")
        return util::fail("smtpd_forbid_bare_newline: want normalize, reject or no: \"" + bare + "\"");
    p.reject_bare_newline = bare == "reject";
    p.bare_newline_reject_code = cfg.integer("smtpd_forbid_bare_newline_reject_code");
    if (p.bare_newline_reject_code < 400 || p.bare_newline_reject_code > 599)
        return util::fail("smtpd_forbid_bare_newline_reject_code: want a 4XX or 5XX code: " +
                          std::to_string(p.bare_newline_reject_code));
    if (p.reject_bare_newline) {  // read only where it is used, as Postfix's
        auto bare_exclusions = load_client_networks(cfg, "smtpd_forbid_bare_newline_exclusions");
        if (!bare_exclusions) return std::unexpected(bare_exclusions.error());
        p.bare_newline_exclusions = std::move(*bare_exclusions);
    }
    p.smtputf8_enable = cfg.boolean("smtputf8_enable");
    p.strict_smtputf8 = p.smtputf8_enable && cfg.boolean("strict_smtputf8");
    p.discard_ehlo = mail::parse_ehlo_discard(cfg.list("smtpd_discard_ehlo_keywords"));
    auto locals = mail::LocalRecipients::from_config(
        cfg, [](const std::string& user) { return util::find_account(user).has_value(); });
    if (!locals) return std::unexpected(locals.error());
    p.local_recipients = std::move(*locals);
    auto relays = mail::RecipientTable::from_config(cfg, "relay_recipient_maps");
    if (!relays) return std::unexpected(relays.error());
    p.relay_recipients = std::move(*relays);
    if (auto relay_domains = p.relay_domains.get(cfg); !relay_domains) return std::unexpected(relay_domains.error());
    auto virtuals = mail::RecipientTable::from_config(cfg, "virtual_mailbox_maps");
    if (!virtuals) return std::unexpected(virtuals.error());
    p.virtual_recipients = std::move(*virtuals);
    if (auto domains = p.virtual_mailbox_domains.get(cfg); !domains) return std::unexpected(domains.error());
    if (auto domains = p.virtual_alias_domains.get(cfg); !domains) return std::unexpected(domains.error());
    auto restrictions = mail::parse_restriction_policy([&](std::string_view name) { return cfg.str(name); });
    if (!restrictions) return std::unexpected(restrictions.error());
    p.restrictions = std::move(*restrictions);
    p.reject_unlisted_recipient = cfg.boolean("smtpd_reject_unlisted_recipient");
    p.helo_required = cfg.boolean("smtpd_helo_required");
    p.connection_count_limit = cfg.integer("smtpd_client_connection_count_limit");
    p.rates.connection = cfg.integer("smtpd_client_connection_rate_limit");
    p.rates.message = cfg.integer("smtpd_client_message_rate_limit");
    p.rates.recipient = cfg.integer("smtpd_client_recipient_rate_limit");
    p.rates.newtls = cfg.integer("smtpd_client_new_tls_session_rate_limit");
    p.rates.auth = cfg.integer("smtpd_client_auth_rate_limit");
    auto exceptions = load_client_networks(cfg, "smtpd_client_event_limit_exceptions");
    if (!exceptions) return std::unexpected(exceptions.error());
    p.limit_exceptions = std::move(*exceptions);
    if (auto sasl = load_sasl_policy(cfg, p); !sasl) return std::unexpected(sasl.error());
    auto milters = mail::milter::load_milter_config(cfg, "smtpd_milters");
    if (!milters) return std::unexpected(milters.error());
    p.milters = std::move(*milters);
    auto dkim = load_dkim_verify_policy(cfg);
    if (!dkim) return std::unexpected(dkim.error());
    p.dkim = std::move(*dkim);
    return p;
}

Session::Session(server::ServerContext& ctx, const SmtpdPolicy& policy, server::ClientDone done)
    : ctx_(ctx), policy_(policy), done_(std::move(done)) {}

Session::~Session() {
    if (client_) bufferevent_free(client_);
    abort_cleanup();
    if (delay_) event_free(delay_);
    if (deadline_) event_free(deadline_);
    if (written_) event_free(written_);
    *alive_ = false;
}

void Session::start(server::ServerContext& ctx, const SmtpdPolicy& policy, util::Fd fd, server::ClientDone done) {
    auto* s = new Session(ctx, policy, std::move(done));
    s->peer_ = util::peer_of(fd.get());
    s->client_ = bufferevent_socket_new(ctx.base, fd.release(), BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(s->client_, on_client_read, on_client_write, on_client_event, s);
    struct timeval tv {policy.timeout, 0};
    bufferevent_set_timeouts(s->client_, &tv, &tv);
    bufferevent_setwatermark(s->client_, EV_READ, 0, kClientInputHighWater);
    if (policy.session_time_limit > 0) {
        // smtpd_timeout bounds each read; this bounds the whole session.
        s->deadline_ = evtimer_new(ctx.base, on_session_deadline, s);
        struct timeval limit {policy.session_time_limit, 0};
        evtimer_add(s->deadline_, &limit);
    }
    util::msg_info("connect from {}", s->client_id());
    // Wrapper mode: TLS from the first byte; the banner waits for the handshake.
    if (policy.tls && policy.tls->settings().wrapper_mode && !s->start_tls()) return s->close();
    s->admit();  // greets the client, or refuses it
}

void Session::greet() {
    if (start_milters()) return;  // the milters' connect stage first
    // EV_WRITE is on from the start (libevent's default): enabling it again
    // adds a write event with nothing to write, and a wake-up for it.
    bufferevent_enable(client_, EV_READ);
    reply(fmt::format("220 {}", policy_.banner));
    check_connect();
}

// smtpd_delay_reject = no: the client restrictions at connect.
void Session::check_connect() {
    if (!policy_.restrictions.delay_reject)
        restricted(mail::SmtpStage::connect, facts(), {}, [this] { check_connect(); });
}

// As Postfix 2.6: a client that sends more before a reply it must wait
// for (EHLO, HELO, DATA, and any command before it knows of PIPELINING)
// is marked for reject_unauth_pipelining. Already-read input behind the
// command is what it sent ahead.
void Session::note_pipelining(mail::SmtpVerb verb) {
    using V = mail::SmtpVerb;
    if (unauth_pipelining_ || evbuffer_get_length(bufferevent_get_input(client_)) == 0) return;
    if (!esmtp_ || verb == V::ehlo || verb == V::helo || verb == V::data) unauth_pipelining_ = true;
}

// The client restrictions refused at connect (smtpd_delay_reject = no).
bool Session::access_denied() {
    if (connect_refusal_.empty()) return false;
    error_reply(connect_refusal_);
    return true;
}

std::string Session::client_id() const { return peer_.name + "[" + peer_.addr + "]"; }

void Session::close() {
    std::string stats;
    int total = 0;
    for (const char* name :
         {"ehlo", "helo", "starttls", "auth", "mail", "rcpt", "data", "bdat", "rset", "noop", "vrfy", "quit", "unknown"}) {
        auto it = counts_.find(name);
        if (it == counts_.end()) continue;
        // As Postfix: "auth=0/3" when some of them failed.
        if (std::string_view(name) == "auth" && auth_ok_ != it->second)
            stats += fmt::format(" {}={}/{}", name, auth_ok_, it->second);
        else
            stats += fmt::format(" {}={}", name, it->second);
        total += it->second;
    }
    // Under TLS the filter has passed the last reply on to the socket's
    // buffer: give it to the socket if it takes it now.
    if (tls_active_) flush_raw();
    util::msg_info("disconnect from {}{} commands={}", client_id(), stats, total);
    if (anvil_counted_) policy_.anvil->disconnect(ctx_, service_name(), peer_.addr);
    server::ClientDone done = std::move(done_);
    delete this;
    done();
}

void Session::on_client_event(bufferevent*, short what, void* arg) {
    auto* s = static_cast<Session*>(arg);
    if (what & BEV_EVENT_CONNECTED) {  // the TLS handshake is done
        s->tls_handshake_done();
        if (!(what & (BEV_EVENT_ERROR | BEV_EVENT_EOF | BEV_EVENT_TIMEOUT))) return;
    }
    if (s->tls_active_ && !s->tls_established_ && !(what & BEV_EVENT_TIMEOUT)) {
        // A failed handshake or garbage instead of a ClientHello: this
        // session ends, nothing else.
        util::msg_info("SSL_accept error from {}: {}", s->client_id(), s->tls_error(what));
        s->abort_cleanup();
        return s->close();
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if (s->state_ == State::closing) return s->close();  // it never took the last reply
        util::msg_info("timeout after {} from {}",
                       s->state_ == State::data                  ? "DATA"
                       : s->state_ == State::bdat || s->bdat_ ? "BDAT"
                                                                 : "command",
                       s->client_id());
        s->abort_cleanup();
        return s->close_now(fmt::format("421 4.4.2 {} Error: timeout exceeded", s->policy_.hostname));
    }
    // A BDAT transaction is "after BDAT" between its chunks too, as Postfix.
    if (s->state_ == State::data || s->state_ == State::waiting_cleanup || s->state_ == State::bdat || s->bdat_)
        util::msg_info("lost connection after {} from {}", s->bdat_ || s->state_ == State::bdat ? "BDAT" : "DATA",
                       s->client_id());
    s->abort_cleanup();
    s->close();
}

// smtpd_session_time_limit: the session ends now, in whatever state, as a
// timeout does (the 421 goes out only if the socket takes it at once).
void Session::on_session_deadline(int, short, void* arg) {
    auto* s = static_cast<Session*>(arg);
    if (s->state_ == State::closing) return s->close();
    const char* stage = s->state_ == State::data              ? "DATA"
                        : s->state_ == State::bdat            ? "BDAT"
                        : s->state_ == State::waiting_cleanup ? "END-OF-MESSAGE"
                                                              : "command";
    util::msg_info("timeout after {} from {}: session time limit of {}s exceeded", stage, s->client_id(),
                   s->policy_.session_time_limit);
    s->abort_cleanup();
    s->close_now(fmt::format("421 4.4.2 {} Error: timeout exceeded", s->policy_.hostname));
}

void Session::on_client_read(bufferevent*, void* arg) { static_cast<Session*>(arg)->process_input(); }

void Session::process_input() {
    for (;;) {
        evbuffer* in = bufferevent_get_input(client_);  // STARTTLS replaces client_
        if (!may_read()) {
            if (state_ != State::waiting_cleanup && state_ != State::closing) bufferevent_disable(client_, EV_READ);
            return;
        }
        if (state_ == State::data) {
            handle_data_bytes();
            if (state_ == State::data) return;  // needs more bytes
            continue;
        }
        if (state_ == State::bdat) {
            handle_bdat_bytes();
            if (state_ == State::bdat) return;  // needs more bytes, or cleanup is behind
            continue;
        }
        size_t len = 0;
        char* line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
        if (line == nullptr) {
            size_t have = evbuffer_get_length(in);
            auto* head = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ssize_t>(std::min<size_t>(have, 5))));
            if (have > line_limit(std::string_view(head, std::min<size_t>(have, 5)))) {
                // Throw the over-long line away up to its end.
                evbuffer_drain(in, evbuffer_get_length(in));
                auth_abandon();
                if (!discard_line_) error_reply("500 5.5.0 Error: line too long");
                discard_line_ = true;
            }
            return;
        }
        std::string text(line, len);
        std::free(line);
        if (discard_line_) {
            discard_line_ = false;
            continue;
        }
        bool crlf = !text.empty() && text.back() == '\r';
        if (crlf) text.pop_back();
        if (!crlf && bare_newline_refused()) {
            refuse_bare_newline(state_ == State::auth_response ? "AUTH" : "command");
            return;
        }
        if (text.size() + 2 > line_limit(text)) {
            auth_abandon();
            error_reply("500 5.5.0 Error: line too long");
            continue;
        }
        bool was_tls = tls_active_;
        if (state_ == State::auth_response)
            auth_line(text);
        else
            handle_command(text);
        if (tls_active_ != was_tls) return;  // STARTTLS: the rest comes through the filter
    }
}

void Session::handle_command(std::string_view line) {
    if (line.find('\0') != std::string_view::npos) {
        counts_["unknown"]++;
        error_reply("500 5.5.2 Error: NUL character in command");
        return;
    }
    if (auto refusal = mail::smtputf8_line_refusal(line, policy_.smtputf8_enable); !refusal.empty())
        return error_reply(refusal);
    auto cmd = mail::parse_smtp_command(line);
    using V = mail::SmtpVerb;
    note_pipelining(cmd.verb);
    ++command_serial_;
    if (cmd.verb != V::quit && cmd.verb != V::noop && cmd.verb != V::rset && cmd.verb != V::help &&
        cmd.verb != V::unknown && cmd.verb != V::bdat && access_denied())
        return;
    switch (cmd.verb) {
        case V::ehlo: counts_["ehlo"]++; return do_helo(cmd, true);
        case V::helo: counts_["helo"]++; return do_helo(cmd, false);
        case V::mail: counts_["mail"]++; return do_mail(cmd);
        case V::rcpt: counts_["rcpt"]++; return do_rcpt(cmd);
        case V::data: counts_["data"]++; return do_data();
        case V::rset:
            counts_["rset"]++;
            reset_transaction();
            reply("250 2.0.0 Ok");
            return count_junk();
        case V::noop:
            counts_["noop"]++;
            reply("250 2.0.0 Ok");
            return count_junk();
        case V::vrfy:
            counts_["vrfy"]++;
            if (refuse_before_tls()) return;
            if (cmd.arg.empty()) return error_reply("501 5.5.4 Syntax: VRFY address");
            reply("252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
            return count_junk();
        case V::help: return reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
        case V::quit:
            counts_["quit"]++;
            reply("221 2.0.0 Bye");
            return close_after_reply();
        case V::starttls: counts_["starttls"]++; return do_starttls(cmd);
        case V::auth: counts_["auth"]++; return do_auth(cmd);
        case V::bdat: counts_["bdat"]++; return do_bdat(cmd);  // smtpd_bdat.cpp
        case V::expn: counts_["unknown"]++; return error_reply("502 5.5.1 Error: command not implemented");
        case V::unknown:
            counts_["unknown"]++;
            if (!milters_) return error_reply("500 5.5.2 Error: command not recognized");
            return with_milters(
                "UNKNOWN", {}, [this, line = std::string(line)](auto done) { milters_->unknown(line, done); },
                [this] { error_reply("500 5.5.2 Error: command not recognized"); });
    }
}

void Session::do_helo(const mail::SmtpCommand& cmd, bool esmtp) {
    if (cmd.arg.empty()) return error_reply(esmtp ? "501 Syntax: EHLO hostname" : "501 Syntax: HELO hostname");
    for (char c : cmd.arg)
        if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e)
            return error_reply("501 5.5.2 Syntax: bad characters in hostname");
    reset_transaction();
    std::string previous = std::exchange(helo_, cmd.arg.substr(0, 255));
    esmtp_ = esmtp;
    if (!policy_.restrictions.delay_reject &&
        restricted(mail::SmtpStage::helo, facts(), {}, [this, cmd, esmtp] { do_helo(cmd, esmtp); })) {
        helo_ = previous;
        return;
    }
    with_milters(
        esmtp ? "EHLO" : "HELO", {}, [this](auto done) { milters_->helo(helo_, done); },
        [this, esmtp] { helo_reply(esmtp); }, [this, previous] { helo_ = previous; });
}

void Session::helo_reply(bool esmtp) {
    if (!esmtp) return reply(fmt::format("250 {}", policy_.hostname));
    std::string r = fmt::format("250-{}\r\n250-PIPELINING\r\n", policy_.hostname);
    if (policy_.size_limit > 0)
        r += fmt::format("250-SIZE {}\r\n", policy_.size_limit);
    else
        r += "250-SIZE\r\n";
    r += "250-VRFY\r\n";
    if (policy_.tls && !tls_active_) r += "250-STARTTLS\r\n";
    r += auth_ehlo_line() + "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN";
    if (policy_.smtputf8_enable) r += "\r\n250-SMTPUTF8";
    r += "\r\n250 CHUNKING";
    if (!policy_.discard_ehlo.keywords.empty()) {
        std::vector<std::string> dropped;
        r = mail::discard_ehlo_keywords(r, policy_.discard_ehlo, dropped);
        if (!dropped.empty() && !policy_.discard_ehlo.silent)
            util::msg_info("discarding EHLO keywords: {}", fmt::join(dropped, " "));
    }
    reply(r);
}

void Session::do_mail(const mail::SmtpCommand& cmd) {
    if (policy_.helo_required && helo_.empty()) return error_reply("503 5.5.1 Error: send HELO/EHLO first");
    if (refuse_before_tls()) return;
    if (have_mail_) return error_reply("503 5.5.1 Error: nested MAIL command");
    auto args = mail::parse_mail_args(cmd.arg, "FROM:");
    if (!args) return error_reply("501 5.1.7 Bad sender address syntax");
    std::string ret_value, envid_value;
    bool smtputf8 = false;
    for (const auto& [name, value] : args->params) {
        if (name == "SIZE") {
            auto n = mail::parse_integer(value);
            if (!n || *n < 0) return error_reply("501 5.5.4 Bad message size syntax");
            if (policy_.size_limit > 0 && *n > policy_.size_limit)
                return error_reply("552 5.3.4 Message size exceeds fixed limit");
        } else if (name == "BODY") {
            std::string v = mail::lowercase(value);
            if (v != "7bit" && v != "8bitmime") return error_reply("501 5.5.4 Unsupported BODY parameter");
        } else if (name == "RET") {
            auto ret = mail::parse_ret(value);
            if (!ret) return error_reply("501 5.5.4 Bad RET parameter syntax");
            ret_value = *ret;
        } else if (name == "ENVID") {
            auto id = mail::parse_envid(value);
            if (!id) return error_reply("501 5.5.4 Bad ENVID parameter syntax");
            envid_value = *id;
        } else if (name == "SMTPUTF8") {
            if (auto refusal = mail::smtputf8_param_refusal(value, policy_.smtputf8_enable); !refusal.empty())
                return error_reply(refusal);
            smtputf8 = true;
        } else {
            return error_reply(fmt::format("555 5.5.4 Unsupported option: {}", name));
        }
    }
    if (auto refusal = mail::smtputf8_address_refusal(args->address, smtputf8, policy_.strict_smtputf8,
                                                      "501 5.1.7 Bad sender address syntax");
        !refusal.empty())
        return error_reply(refusal);
    if (rate_limited(mail::proto::AnvilRequest::Kind::message, [this, cmd] { do_mail(cmd); })) return;
    sender_ = args->address;
    have_mail_ = true;
    if (!policy_.restrictions.delay_reject &&
        restricted(mail::SmtpStage::mail, sender_facts(), {}, [this, cmd] { do_mail(cmd); })) {
        sender_.clear();
        have_mail_ = false;
        return;
    }
    dsn_ret_ = ret_value;
    dsn_envid_ = envid_value;
    smtputf8_ = smtputf8;
    std::vector<std::string> params;
    for (const auto& [name, value] : args->params) params.push_back(value.empty() ? name : name + "=" + value);
    with_milters(
        "MAIL", {}, [this, params](auto done) { milters_->mail(sender_, params, done); },
        [this] { reply("250 2.1.0 Ok"); }, [this] { reset_transaction(); });
}

void Session::reject_log(std::string_view stage, std::string_view reply_text, std::string_view to) {
    policy_log("reject", stage, reply_text, to);
}

void Session::do_rcpt(const mail::SmtpCommand& cmd) {
    if (refuse_before_tls()) return;
    if (!have_mail_) return error_reply("503 5.5.1 Error: need MAIL command");
    if (bdat_) return error_reply("503 5.5.1 Error: RCPT after BDAT");
    auto args = mail::parse_mail_args(cmd.arg, "TO:");
    if (!args || args->address.empty()) return error_reply("501 5.1.3 Bad recipient address syntax");
    Recipient dsn;
    for (const auto& [name, value] : args->params) {
        if (name == "NOTIFY") {
            auto bits = mail::parse_notify(value);
            if (!bits) return error_reply("501 5.5.4 Bad NOTIFY parameter syntax");
            dsn.notify = *bits;
        } else if (name == "ORCPT") {
            auto orcpt = mail::parse_orcpt(value);
            if (!orcpt) return error_reply("501 5.5.4 Bad ORCPT parameter syntax");
            dsn.orcpt = *orcpt;
        } else {
            return error_reply(fmt::format("555 5.5.4 Unsupported option: {}", name));
        }
    }
    if (auto refusal = mail::smtputf8_address_refusal(args->address, smtputf8_, policy_.strict_smtputf8,
                                                      "501 5.1.3 Bad recipient address syntax");
        !refusal.empty())
        return error_reply(refusal);
    if (static_cast<long>(recipients_.size()) >= policy_.recipient_limit)
        return reply("452 4.5.3 Error: too many recipients");
    if (rate_limited(mail::proto::AnvilRequest::Kind::recipient, [this, cmd] { do_rcpt(cmd); })) return;
    std::string rcpt = mail::canonical_address(ctx_.config, args->address);
    std::string quoted = mail::quote_address(rcpt);
    std::string domain(mail::domain_part(rcpt));
    mail::SmtpFacts f = sender_facts();
    f.recipient = rcpt;
    // An SRS address at srs_domain (smtpd_srs.hpp) is ours, and stands
    // for the address it reverses to when its hash and time stamp are good.
    SrsRecipient srs = srs_recipient(ctx_.config, rcpt, std::time(nullptr));
    if (srs.kind == SrsRecipient::Kind::error) {
        util::msg_warn("{}", srs.why);
        std::string text = fmt::format("451 4.3.0 <{}>: Temporary lookup failure", quoted);
        reject_log("RCPT", text, quoted);
        return reply(text);
    }
    // A mydestination table that cannot answer defers, as the lists below.
    util::Result<bool> local_or_error = mail::local_domain_matches(ctx_.config, domain);
    bool local = local_or_error && *local_or_error;
    // Postfix's address classes in order: local, virtual mailbox, relay.
    auto in_list = [&](mail::WatchedDomainList& list) -> util::Result<bool> {
        auto domains = list.get(ctx_.config);
        if (!domains) return std::unexpected(domains.error());
        return (*domains)->matches(ctx_.config, domain);
    };
    util::Result<bool> alias = !local_or_error ? util::Result<bool>(std::unexpected(local_or_error.error()))
                               : local         ? util::Result<bool>(false)
                                               : in_list(policy_.virtual_alias_domains);
    util::Result<bool> virt = local || !alias || *alias ? util::Result<bool>(false)
                                                        : in_list(policy_.virtual_mailbox_domains);
    util::Result<bool> relay = local || !virt || *virt ? util::Result<bool>(false) : in_list(policy_.relay_domains);
    f.recipient_alias = alias && *alias;
    f.recipient_virtual = virt && *virt;
    f.recipient_relay = relay && *relay;
    f.recipient_domain_ours = local || f.recipient_alias || f.recipient_virtual || f.recipient_relay;
    if (srs.kind != SrsRecipient::Kind::none) f.recipient_domain_ours = true;
    // An address virtual_alias_maps knows exists, in any domain (Postfix's
    // check_rcpt_maps); one in a virtual alias domain that it does not know,
    // does not.
    auto aliased = policy_.virtual_alias_maps->find(ctx_.config, rcpt);
    util::Result<bool> exists = true;
    if (!alias)
        exists = std::unexpected(alias.error());
    else if (!aliased)
        exists = std::unexpected(aliased.error());
    else if (*aliased)
        exists = true;
    else if (f.recipient_alias)
        exists = false;
    else if (!virt)
        exists = std::unexpected(virt.error());
    else if (!relay)
        exists = std::unexpected(relay.error());
    else if (local && policy_.local_recipients.enabled())
        exists = policy_.local_recipients.exists(ctx_.config, rcpt);
    else if (f.recipient_virtual)  // a virtual mailbox domain always has its table
        exists = policy_.virtual_recipients.exists(ctx_.config, rcpt);
    else if (f.recipient_relay && policy_.relay_recipients.enabled())
        exists = policy_.relay_recipients.exists(ctx_.config, rcpt);
    if (srs.kind == SrsRecipient::Kind::valid) exists = true;  // an invalid one is refused below, with its reason
    if (!exists) {
        // A table that cannot answer defers: never a 550 for a real user.
        util::msg_warn("{}", exists.error().text);
        std::string text = fmt::format("451 4.3.0 <{}>: Temporary lookup failure", quoted);
        reject_log("RCPT", text, quoted);
        return reply(text);
    }
    f.recipient_unknown = !*exists;
    if (restricted(mail::SmtpStage::rcpt, f, quoted, [this, cmd] { do_rcpt(cmd); })) return;
    // smtpd_reject_unlisted_recipient: after the lists, whatever they said.
    if (f.recipient_unknown && policy_.reject_unlisted_recipient) {
        std::string text = mail::unknown_recipient_reply(policy_.restrictions.codes, f);
        reject_log("RCPT", text, quoted);
        return error_reply(text);
    }
    if (srs.kind == SrsRecipient::Kind::invalid) {
        std::string text = fmt::format("550 5.1.1 <{}>: Recipient address rejected: User unknown ({})", quoted, srs.why);
        reject_log("RCPT", text, quoted);
        return error_reply(text);
    }
    dsn.address = srs.kind == SrsRecipient::Kind::valid ? srs.target : rcpt;
    if (srs.kind == SrsRecipient::Kind::valid) dsn.original = rcpt;
    std::vector<std::string> params;
    for (const auto& [name, value] : args->params) params.push_back(value.empty() ? name : name + "=" + value);
    milter_rcpt_ = rcpt;
    with_milters(
        "RCPT", quoted, [this, rcpt, params](auto done) { milters_->rcpt(rcpt, params, done); },
        [this, dsn] {
            milter_rcpt_.clear();
            recipients_.push_back(dsn);
            reply("250 2.1.5 Ok");
        },
        [this] { milter_rcpt_.clear(); });
}

// smtpd_sender_login_maps: the login names that own a sender address, by
// the address and then its "@domain". A table that is missing or fails is
// an error (a temporary refusal), never "no owner".
util::Result<std::optional<std::vector<std::string>>> Session::sender_owners(std::string_view sender) const {
    const auto& maps = policy_.sender_login_maps.get(ctx_.config);
    if (!maps.warnings().empty()) return util::fail("smtpd_sender_login_maps: " + maps.warnings().front());
    for (const auto& key : mail::sender_login_keys(sender)) {
        auto value = maps.lookup(key);
        if (!value) return std::unexpected(value.error());
        if (*value) return mail::split_login_names(**value);
    }
    return std::nullopt;
}

void Session::reset_transaction() {
    abort_cleanup();
    if (milters_) milters_->abort();
    milter_text_.clear();
    milter_line_open_ = false;
    prepended_bytes_ = 0;
    collect_lines_ = false;
    milter_data_passed_ = false;
    milter_wait_hello_ = false;
    have_mail_ = false;
    sender_.clear();
    dsn_ret_.clear();
    dsn_envid_.clear();
    smtputf8_ = false;
    recipients_.clear();
    queue_id_.clear();
    hold_ = false;
    discard_ = false;
    early_answer_.clear();
    data_.reset();
    data_size_ = 0;
    too_big_ = false;
    bdat_.reset();
    bdat_total_ = 0;
    bdat_content_ = 0;
    bdat_failed_ = false;
    dkim_.reset();
    dkim_lookups_.reset();
    dkim_log_.clear();
}

}  // namespace kurir::smtpd
